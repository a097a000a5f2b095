# Powers off as soon as init is up: what bench/boot times.
poweroff -f
