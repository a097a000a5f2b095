#!/usr/bin/env python3
# console-log.py SOCKET OUT: a domain's console socket, each line stamped with
# the host's time in OUT and the bytes as they came in OUT.raw, until the
# daemon closes it.  Exits 1 if it cannot connect within 20 s.
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
for _ in range(400):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit(1)
buf = b""
with open(out, "w") as f, open(out + ".raw", "wb") as raw:
    while True:
        d = s.recv(4096)
        if not d:
            break
        raw.write(d)
        raw.flush()
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            f.write("%.3f %s\n" % (time.time(), line.decode(errors="replace").rstrip("\r")))
            f.flush()
    if buf:
        f.write("%.3f %s\n" % (time.time(), buf.decode(errors="replace")))
