#!/usr/bin/env python3
"""Runs COMMAND... with --preserve-fds style fds 3, 4 and 5, as a caller of
runc would: fd 3 a file opened read-only (INPUT), fd 4 the write end of a
pipe whose output this script collects, fd 5 one end of a connected Unix
stream socket. The container reads fd 3 to fd 4, says "to-host" on fd 5,
then copies what arrives on fd 5 to fd 4; this script answers "from-host"
on the socket and half-closes it.

Prints "STATUS|fd4 output|socket greeting", one line, the same for any
runtime that honours --preserve-fds."""
import os
import socket
import subprocess
import sys
import threading

input_path, command = sys.argv[1], sys.argv[2:]
ours, theirs = socket.socketpair()
out_read, out_write = os.pipe()
source = os.open(input_path, os.O_RDONLY)
for target, fd in ((3, source), (4, out_write), (5, theirs.fileno())):
    os.dup2(fd, target + 100)
# Parked above what Popen opens, then put in place in the child only (dup2
# leaves the copies inheritable; every other fd here is close-on-exec).
def place():
    for target in (3, 4, 5):
        os.dup2(target + 100, target)
process = subprocess.Popen(command, stdin=subprocess.DEVNULL, close_fds=False, preexec_fn=place)
for fd in (103, 104, 105, source, out_write):
    os.close(fd)
theirs.close()
collected = []
reader = threading.Thread(target=lambda: collected.append(os.read(out_read, 1 << 20) + b"".join(iter(lambda: os.read(out_read, 65536), b""))))
reader.start()
ours.settimeout(240)
greeting = b""
while not greeting.endswith(b"\n"):
    chunk = ours.recv(64)
    if not chunk:
        break
    greeting += chunk
ours.sendall(b"from-host\n")
ours.shutdown(socket.SHUT_WR)
status = process.wait(timeout=280)
reader.join(timeout=30)
output = collected[0].decode() if collected else "<no output>"
print(f"{status}|{output.replace(chr(10), '.')}|{greeting.decode().strip()}")
