"""Byte-level builders of the Outlook containers tests need: a TNEF stream (winmail.dat,
MS-OXTNEF) and an Outlook .msg (MS-OXMSG properties in an MS-CFB compound file).

Written from the format descriptions, field by field, so that the readers the gateway uses
are tested on files they did not make themselves. Only what Outlook itself writes for a
plain note with file attachments is covered.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime

# -- TNEF -------------------------------------------------------------------------------

TNEF_SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 0x01, 0x02
# Attribute ids: the high word is the attribute's type, the low word its id.
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_BODY = 0x0002800C
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005  # the attachment's MAPI properties
PR_ATTACH_LONG_FILENAME_W = (0x001F, 0x3707)


def _attribute(level: int, attr_id: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def _mapi_unicode(prop: tuple[int, int], value: str) -> bytes:
    raw = (value + "\x00").encode("utf-16-le")
    pad = b"\x00" * (-len(raw) % 4)
    return struct.pack("<HHII", prop[0], prop[1], 1, len(raw)) + raw + pad


def tnef(
    files: Sequence[tuple[str, bytes]],
    *,
    body: str | None = None,
    subject: str = "",
    codepage: int = 1251,
    long_names: bool = True,
) -> bytes:
    """A TNEF stream as Outlook writes it for a rich-text letter: message attributes, then
    per file the rendering data (which starts an attachment), its 8.3 title in the OEM code
    page, its bytes and, with `long_names`, the MAPI long file name in UTF-16."""
    cp = f"cp{codepage}"
    out = struct.pack("<IH", TNEF_SIGNATURE, 0x0001)
    out += _attribute(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += _attribute(LVL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", codepage, 0))
    out += _attribute(LVL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\x00")
    if subject:
        out += _attribute(LVL_MESSAGE, ATT_SUBJECT, subject.encode(cp) + b"\x00")
    if body is not None:
        out += _attribute(LVL_MESSAGE, ATT_BODY, body.encode(cp))
    for name, data in files:
        stem, _, ext = name.rpartition(".")
        short = f"{stem[:6]}~1.{ext[:3]}" if len(stem) > 8 else name
        out += _attribute(
            LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 1)
        )
        out += _attribute(LVL_ATTACHMENT, ATT_ATTACH_TITLE, short.encode(cp, "replace") + b"\x00")
        out += _attribute(LVL_ATTACHMENT, ATT_ATTACH_DATA, data)
        if long_names:
            props = struct.pack("<I", 1) + _mapi_unicode(PR_ATTACH_LONG_FILENAME_W, name)
            out += _attribute(LVL_ATTACHMENT, ATT_ATTACHMENT, props)
    return out


# -- Compound file (MS-CFB, version 3) ---------------------------------------------------

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


class _Node:
    def __init__(self, name: str, data: bytes | None = None) -> None:
        self.name = name
        self.data = data  # None: a storage
        self.children: list[_Node] = []
        self.sid = 0
        self.start = ENDOFCHAIN
        self.left = self.right = self.child = NOSTREAM


def _tree(nodes: list[_Node]) -> int:
    """A binary search tree of siblings in the order MS-CFB compares names (length first,
    then upper case); returns the root's id."""
    nodes = sorted(nodes, key=lambda n: (len(n.name), n.name.upper()))
    if not nodes:
        return NOSTREAM
    mid = len(nodes) // 2
    root = nodes[mid]
    root.left = _tree(nodes[:mid])
    root.right = _tree(nodes[mid + 1 :])
    return root.sid


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An MS-CFB file holding `streams`, keyed by "/"-separated paths (storages are made
    from the paths). Streams under 4096 bytes go to the mini stream, as the format requires."""
    root = _Node("Root Entry")
    storages = {"": root}
    for path in sorted(streams):
        parts = path.split("/")
        for i in range(1, len(parts)):
            key = "/".join(parts[:i])
            if key not in storages:
                node = _Node(parts[i - 1])
                storages["/".join(parts[: i - 1])].children.append(node)
                storages[key] = node
        storages["/".join(parts[:-1])].children.append(_Node(parts[-1], streams[path]))
    order: list[_Node] = []

    def number(node: _Node) -> None:
        node.sid = len(order)
        order.append(node)
        for c in node.children:
            number(c)

    number(root)
    for node in order:
        if node.data is None:
            node.child = _tree(node.children)

    # The mini stream and its allocation table.
    mini = bytearray()
    minifat: list[int] = []
    for node in order:
        if node.data is not None and 0 < len(node.data) < CUTOFF:
            first = len(minifat)
            count = -(-len(node.data) // MINI)
            minifat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
            node.start = first
            mini += node.data + b"\x00" * (-len(node.data) % MINI)

    # Sectors: directory, mini FAT, mini stream, big streams, then the FAT itself.
    chains: list[tuple[bytes, str | _Node]] = []
    directory = _directory(order, len(mini))
    chains.append((directory, "dir"))
    minifat_bytes = b"".join(struct.pack("<I", x) for x in minifat)
    minifat_bytes += struct.pack("<I", FREESECT) * (-len(minifat) % (SECTOR // 4))
    if minifat:
        chains.append((minifat_bytes, "minifat"))
    if mini:
        chains.append((bytes(mini) + b"\x00" * (-len(mini) % SECTOR), root))
    for node in order:
        if node.data is not None and len(node.data) >= CUTOFF:
            chains.append((node.data + b"\x00" * (-len(node.data) % SECTOR), node))
    fat: list[int] = []
    starts: dict[str, int] = {}
    body = bytearray()
    for data, owner in chains:
        first = len(fat)
        count = len(data) // SECTOR
        fat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
        body += data
        if isinstance(owner, _Node):
            owner.start = first
        else:
            starts[owner] = first
    n_fat = 1
    while (len(fat) + n_fat) > n_fat * (SECTOR // 4):
        n_fat += 1
    fat_first = len(fat)
    fat += [FATSECT] * n_fat
    fat += [FREESECT] * (n_fat * (SECTOR // 4) - len(fat))
    # The directory was laid out before the start sectors were known: write it again.
    directory = _directory(order, len(mini))
    body[: len(directory)] = directory
    difat = [fat_first + i for i in range(n_fat)] + [FREESECT] * (109 - n_fat)
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<II", 0, n_fat)
        + struct.pack("<II", starts["dir"], 0)
        + struct.pack("<I", CUTOFF)
        + struct.pack(
            "<II", starts.get("minifat", ENDOFCHAIN), len(minifat_bytes) // SECTOR if minifat else 0
        )
        + struct.pack("<II", ENDOFCHAIN, 0)
        + b"".join(struct.pack("<I", x) for x in difat)
    )
    assert len(header) == SECTOR
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    return header + bytes(body) + fat_bytes


def _directory(order: list[_Node], mini_size: int) -> bytes:
    out = b"".join(_entry(n, mini_size) for n in order)
    # Unused entries fill the last sector: no name, type 0 (empty), no siblings.
    unused = b"\x00" * 66 + b"\x00\x00" + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
    unused = unused.ljust(128, b"\x00")
    return out + unused * (-len(order) % (SECTOR // 128))


def _entry(node: _Node, mini_size: int) -> bytes:
    name = (node.name + "\x00").encode("utf-16-le")
    kind = 5 if node.sid == 0 else (1 if node.data is None else 2)
    size = mini_size if kind == 5 else (len(node.data) if node.data is not None else 0)
    start = node.start if (kind == 5 and mini_size) or (kind == 2 and size) else ENDOFCHAIN
    if kind == 1:
        start = 0
    return (
        name.ljust(64, b"\x00")
        + struct.pack("<HBB", len(name), kind, 1)
        + struct.pack("<III", node.left, node.right, node.child)
        + b"\x00" * 16
        + struct.pack("<I", 0)
        + b"\x00" * 16
        + struct.pack("<IQ", start, size)
    )


# -- Outlook .msg ------------------------------------------------------------------------


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _props_stream(
    header: bytes, fixed: Sequence[tuple[int, int, bytes]], strings: dict[int, bytes]
) -> bytes:
    """The __properties_version1.0 stream: `header`, then 16-byte entries (type, id, flags,
    8-byte value; for strings and binaries the value is the stream's size)."""
    out = header
    for ptype, pid, value in fixed:
        out += struct.pack("<HHI", ptype, pid, 0x06) + value.ljust(8, b"\x00")
    for tag, data in strings.items():
        out += struct.pack("<II", tag, 0x06) + struct.pack(
            "<II", len(data) + (2 if tag & 0xFFFF == 0x001F else 0), 0
        )
    return out


def outlook_msg(
    *,
    subject: str,
    sender_name: str,
    sender_email: str,
    body: str,
    sent: datetime,
    files: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """An Outlook "IPM.Note" saved as .msg: Unicode string properties in their own streams
    (__substg1.0_<id><type>), fixed ones in __properties_version1.0, one storage per
    attachment, an empty named-property map."""
    streams: dict[str, bytes] = {}
    strings = {
        0x001A001F: _utf16("IPM.Note"),
        0x0037001F: _utf16(subject),
        0x1000001F: _utf16(body),
        0x0C1A001F: _utf16(sender_name),
        0x0C1F001F: _utf16(sender_email),
        0x5D01001F: _utf16(sender_email),
        0x007D001F: _utf16(
            f"From: {sender_name} <{sender_email}>\r\nSubject: {subject}\r\n"
            f"Date: {sent.strftime('%a, %d %b %Y %H:%M:%S %z')}\r\n"
        ),
    }
    for tag, data in strings.items():
        streams[f"__substg1.0_{tag:08X}"] = data
    filetime = int((sent.timestamp() + 11644473600) * 10_000_000)
    fixed = [
        (0x0040, 0x0039, struct.pack("<Q", filetime)),  # PR_CLIENT_SUBMIT_TIME
        (0x0040, 0x0E06, struct.pack("<Q", filetime)),  # PR_MESSAGE_DELIVERY_TIME
        (0x0003, 0x0E07, struct.pack("<I", 1)),  # PR_MESSAGE_FLAGS: read
    ]
    header = b"\x00" * 8 + struct.pack("<IIII", 0, len(files), 0, len(files)) + b"\x00" * 8
    streams["__properties_version1.0"] = _props_stream(header, fixed, strings)
    for i, (name, data) in enumerate(files):
        prefix = f"__attach_version1.0_#{i:08X}"
        att_strings = {0x3707001F: _utf16(name), 0x3704001F: _utf16(name), 0x37010102: data}
        for tag, value in att_strings.items():
            streams[f"{prefix}/__substg1.0_{tag:08X}"] = value
        att_fixed = [
            (0x0003, 0x3705, struct.pack("<I", 1)),  # PR_ATTACH_METHOD: by value
            (0x0003, 0x0E20, struct.pack("<I", len(data))),  # PR_ATTACH_SIZE
            (0x0003, 0x0E21, struct.pack("<I", i)),  # PR_ATTACH_NUM
        ]
        streams[f"{prefix}/__properties_version1.0"] = _props_stream(
            b"\x00" * 8, att_fixed, att_strings
        )
    for part in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        streams[f"__nameid_version1.0/{part}"] = b""
    return compound_file(streams)
