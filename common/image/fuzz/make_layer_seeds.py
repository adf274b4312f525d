#!/usr/bin/env python3
"""Writes common/image/fuzz/layer_corpus: small layer tars for layer_fuzzer.cc,
one per kind of entry the image spec gives meaning to, and the classic
escapes (.. components, absolute and chained symlinks, hard links out)."""
import io
import os
import sys
import tarfile

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "layer_corpus")
os.makedirs(out, exist_ok=True)


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.size = kind, link, mode, len(data)
    info.mtime = 1700000000
    return info, data


def layer(path, entries, format=tarfile.GNU_FORMAT):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data else None)
    with open(os.path.join(out, path), "wb") as seed:
        seed.write(buffer.getvalue())


DIR, SYM, LNK, FIFO = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE
layer("files", [entry("etc/", DIR, mode=0o755), entry("etc/hostname", data=b"box\n"),
                entry("bin/", DIR), entry("bin/sh", data=b"#!", mode=0o755), entry("run", FIFO)])
layer("links", [entry("a", data=b"x"), entry("b", LNK, link="a"), entry("c", SYM, link="a"),
                entry("d", SYM, link="/etc/passwd")])
layer("whiteouts", [entry("dir/", DIR), entry("dir/.wh..wh..opq"), entry("gone/.wh.file"), entry(".wh.top")])
layer("escape-dotdot", [entry("../outside/file", data=b"escaped")])
layer("escape-symlink", [entry("up", SYM, link="../outside"), entry("up/file", data=b"escaped"),
                         entry("abs", SYM, link="/tmp"), entry("abs/file", data=b"escaped")])
layer("escape-hardlink", [entry("h", LNK, link="../outside/target"), entry("i", LNK, link="/etc/shadow")])
layer("pax-long-names", [entry("d/" + "n" * 200, data=b"long"), entry("x", SYM, link="y" * 300)],
      format=tarfile.PAX_FORMAT)
