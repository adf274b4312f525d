"""Protobuf's wire format, encoded by hand for the fuzz seed scripts
(agent/fuzz, shim/microvm/fuzz), so no Python protobuf module is needed."""


def varint(value):
    data = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        data += bytes([byte | (0x80 if value else 0)])
        if not value:
            return data


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data
