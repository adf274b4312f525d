#!/usr/bin/env python3
"""A --console-socket client, as containerd's is: listens on SOCKET, takes
the pty master sent with runc's protocol (one message naming the pty, the fd
attached), and copies everything the container's terminal prints to OUT
until the pty ends. With --after MARKER, once MARKER has been printed it
resizes the terminal (--rows/--columns) and types --send.

  console_client.py SOCKET OUT [--after MARKER --rows R --columns C --send TEXT]

Exit status 0 once the pty ended after the expected exchange; 1 on a
timeout or when the message carried no fd.
"""
import argparse
import fcntl
import os
import select
import socket
import struct
import sys
import termios

parser = argparse.ArgumentParser()
parser.add_argument("socket")
parser.add_argument("out")
parser.add_argument("--after", default="")
parser.add_argument("--rows", type=int, default=0)
parser.add_argument("--columns", type=int, default=0)
parser.add_argument("--send", default="")
parser.add_argument("--timeout", type=float, default=240)
args = parser.parse_args()

listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(args.socket)
listener.listen(1)
if not select.select([listener], [], [], args.timeout)[0]:
    sys.exit("console_client: nobody connected")
connection, _ = listener.accept()
name, fds, _, _ = socket.recv_fds(connection, 4096, 1)
if len(fds) != 1:
    sys.exit("console_client: the message carried no fd")
master = fds[0]
with open(args.out + ".name", "w") as named:
    named.write(name.decode())

seen = b""
acted = not args.after
with open(args.out, "wb") as out:
    while True:
        if not select.select([master], [], [], args.timeout)[0]:
            sys.exit("console_client: the terminal went quiet")
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave end is closed
            break
        if not data:
            break
        out.write(data)
        out.flush()
        seen += data
        if not acted and args.after.encode() in seen:
            acted = True
            if args.rows or args.columns:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.columns, 0, 0))
            if args.send:
                os.write(master, args.send.encode().decode("unicode_escape").encode())
sys.exit(0 if acted else 1)
