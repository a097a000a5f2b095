core-y += kvm/acpi/acpi.o kvm/acpi/aml.o kvm/acpi/loader.o

unit-tests += acpi aml
test-acpi-y := tests/unit/test_acpi.o kvm/acpi/acpi.o kvm/acpi/aml.o lib/log.o
test-aml-y := tests/unit/test_aml.o kvm/acpi/aml.o lib/log.o
