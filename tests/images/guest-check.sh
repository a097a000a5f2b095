#!/bin/sh
# guest-check.sh: run inside the Debian test image (build-debian-image.sh) as
# `XK_NONCE=... sh guest-check.sh`, typed in over the serial console by
# tests/system/test_disk_image.sh.  Reports what the guest runs on as "XK-KEY=value"
# lines, writes XK_NONCE to /root/xk-persist with an fsync, and ends with "XK-END".
# The host decides what is right; this only reports.
say() { echo "XK-$1=$2"; }
root=$(findmnt -n -o SOURCE /)
say ROOT "$root"
part=${root#/dev/}
disk=$(basename "$(readlink -f "/sys/class/block/$part/..")")
say DISK "$disk"
# the disk's driver module (xen_blkfront, sd_mod, virtio_blk)
say DISKMOD "$(basename "$(readlink -f "/sys/block/$disk/device/driver/module")" 2>/dev/null)"
# the PCI function behind it and that function's driver (ata_piix, virtio-pci, none)
p=$(readlink -f "/sys/block/$disk/device")
hba=
while [ -n "$p" ] && [ "$p" != / ] && [ "$p" != /sys/devices ]; do
	case ${p##*/} in
	[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])	# a PCI function
		[ -e "$p/driver" ] && hba=$(basename "$(readlink -f "$p/driver")")
		break ;;
	esac
	p=${p%/*}
done
say HBA "${hba:-none}"
# an ATA disk's transfer mode (port and target from its device path), e.g. XFER_MW_DMA_2
d=$(readlink -f "/sys/block/$disk/device")
xfer=
case $d in */ata[0-9]*/*)
	port=$(printf '%s\n' "$d" | sed -n 's#.*/ata\([0-9]*\)/.*#\1#p')
	xfer=$(cat "/sys/class/ata_device/dev$port.$(basename "$d" | cut -d: -f3)/xfer_mode" 2>/dev/null) ;;
esac
say XFER "${xfer:-none}"
# the disks: block devices backed by hardware (loop*, ram* ... are under virtual/)
blocks=''
for b in /sys/block/*; do
	case $(readlink -f "$b") in /sys/devices/virtual/*) continue ;; esac
	blocks="$blocks ${b##*/}"
done
say BLOCKS "${blocks# }"
say HYPERVISOR "$(cat /sys/hypervisor/type 2>/dev/null || echo none)"
say CMDLINE "$(cat /proc/cmdline)"
say GRUBENV "$(grep '^xenkvm_seen=' /boot/grub/grubenv | cut -d= -f2-)"
# networking: systemd-networkd's DHCP on the first en*/eth* interface, up to 30 s
ifc='' addr=''
for _ in $(seq 60); do
	set -- $(ip -4 -o addr show scope global 2>/dev/null | awk '{ print $2, $4; exit }')
	[ $# = 2 ] && { ifc=$1 addr=${2%/*}; break; }
	ls /sys/class/net | grep -q '^e[nt]' || break	# no NIC at all: nothing to wait for
	sleep 0.5
done
say NETIF "${ifc:-none}"
say NETADDR "${addr:-none}"
[ -z "$ifc" ] || say NETMOD "$(basename "$(readlink -f "/sys/class/net/$ifc/device/driver/module")")"
say NETDEVS "$(ls /sys/class/net | grep -v '^lo$' | tr '\n' ' ' | sed 's/ $//')"
# written and fsync'd (coreutils' sync FILE): the host finds it in the image afterwards
if printf '%s\n' "$XK_NONCE" >/root/xk-persist && sync /root/xk-persist; then
	say WROTE "$(cat /root/xk-persist)"
else
	say WROTE failed
fi
echo XK-END
