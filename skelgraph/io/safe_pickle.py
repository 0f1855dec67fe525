"""A pickle reader with bounds: it builds plain data only, and refuses a file before it costs unbounded time,
memory or the interpreter's C stack.

Python's unpicklers trust their input in three ways this one does not:

* **Declared sizes.** ``FRAME``, ``BINBYTES8``, ``BYTEARRAY8``, ``BINUNICODE8``, ``LONG4`` declare a length
  before their data; the C unpickler asks for that many bytes (a 9-byte ``FRAME`` declaring 2.4 GB allocates
  2.4 GB). Here every declared length is compared with what is left of the file first.
* **Shared references.** ``BINGET`` pushes an object already built; a reader that copies the result out into plain
  trees (as :func:`~skelgraph.io.pyskl.safe_load` does) copies it again at every use, so 24 nested levels of
  two references each make 2^24 copies from 207 bytes. Here every use counts the whole size of what it pushes
  (its nodes and bytes), and the totals are bounded (:class:`PickleLimits`); a container cannot change once it
  has been shared, so what a reference counted stays true.
* **Depth.** A tuple nested a million deep, used as a dict key or set member, makes CPython hash it recursively
  in C and crash with SIGSEGV. Here every container's depth is known when it is built and a container deeper
  than :attr:`PickleLimits.depth` is refused before it exists; nothing deep is ever hashed.

Everything is checked *while* the pickle is read, in one pass, so each file is refused or read in time and memory
linear in the limits. Globals resolve only through the table given (nothing is imported); persistent ids,
extensions, out-of-band buffers and the object-building opcodes ``INST`` / ``OBJ`` / ``NEWOBJ`` are refused.
"""

from __future__ import annotations

import codecs
import gc
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

#: Every opcode this reader knows (protocols 0-5), by its byte.
_OPS = {op[0]: name for name, op in [
    ("MARK", b"("), ("STOP", b"."), ("POP", b"0"), ("POP_MARK", b"1"), ("DUP", b"2"), ("FLOAT", b"F"),
    ("INT", b"I"), ("BININT", b"J"), ("BININT1", b"K"), ("LONG", b"L"), ("BININT2", b"M"), ("NONE", b"N"),
    ("PERSID", b"P"), ("BINPERSID", b"Q"), ("REDUCE", b"R"), ("STRING", b"S"), ("BINSTRING", b"T"),
    ("SHORT_BINSTRING", b"U"), ("UNICODE", b"V"), ("BINUNICODE", b"X"), ("APPEND", b"a"), ("BUILD", b"b"),
    ("GLOBAL", b"c"), ("DICT", b"d"), ("EMPTY_DICT", b"}"), ("APPENDS", b"e"), ("GET", b"g"), ("BINGET", b"h"),
    ("INST", b"i"), ("LONG_BINGET", b"j"), ("LIST", b"l"), ("EMPTY_LIST", b"]"), ("OBJ", b"o"), ("PUT", b"p"),
    ("BINPUT", b"q"), ("LONG_BINPUT", b"r"), ("SETITEM", b"s"), ("TUPLE", b"t"), ("EMPTY_TUPLE", b")"),
    ("SETITEMS", b"u"), ("BINFLOAT", b"G"), ("PROTO", b"\x80"), ("NEWOBJ", b"\x81"), ("EXT1", b"\x82"),
    ("EXT2", b"\x83"), ("EXT4", b"\x84"), ("TUPLE1", b"\x85"), ("TUPLE2", b"\x86"), ("TUPLE3", b"\x87"),
    ("NEWTRUE", b"\x88"), ("NEWFALSE", b"\x89"), ("LONG1", b"\x8a"), ("LONG4", b"\x8b"), ("BINBYTES", b"B"),
    ("SHORT_BINBYTES", b"C"), ("SHORT_BINUNICODE", b"\x8c"), ("BINUNICODE8", b"\x8d"), ("BINBYTES8", b"\x8e"),
    ("EMPTY_SET", b"\x8f"), ("ADDITEMS", b"\x90"), ("FROZENSET", b"\x91"), ("NEWOBJ_EX", b"\x92"),
    ("STACK_GLOBAL", b"\x93"), ("MEMOIZE", b"\x94"), ("FRAME", b"\x95"), ("BYTEARRAY8", b"\x96"),
    ("NEXT_BUFFER", b"\x97"), ("READONLY_BUFFER", b"\x98"),
]}
#: Opcodes refused outright: they build arbitrary objects or reach outside the file.
_REFUSED = {"PERSID", "BINPERSID", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER",
            "READONLY_BUFFER"}
#: ``bytes`` at least this long stay views of the pickle's buffer (array data: no second copy).
_VIEW_BYTES = 4096
#: Longest integer (in bytes) a ``LONG1`` / ``LONG4`` / text ``INT`` may hold: no skeleton file needs more.
_MAX_INT_BYTES = 64


@dataclass(frozen=True)
class PickleLimits:
    """Bounds of one load; change them per call (``safe_load(..., limits=PickleLimits(nodes=...))``) or the module
    default :data:`DEFAULT_LIMITS`.

    Attributes:
        depth: Deepest container nesting (PYSKL files nest four levels).
        nodes: Values pushed in all, each shared reference counting the whole size of what it pushes again
            (the values a plain copy of the result holds; a PYSKL file of NTU-120 has about 1.2 million).
        bytes: Bytes of strings, bytes and arrays pushed in all, shared references counted again.
    """

    depth: int = 32
    nodes: int = 20_000_000
    bytes: int = 16 * 2**30


DEFAULT_LIMITS = PickleLimits()


class PickleRefused(Exception):
    """The pickle breaks a rule or a limit of :class:`BoundedUnpickler`; the message says which, one line."""


class RefusedGlobal(PickleRefused):
    """The pickle names a global the table does not provide (its message is ``module.name``)."""


class BoundedUnpickler:
    """Read one pickle held in ``data`` under ``limits`` (see the module docstring).

    Every value on the stack carries its size: ``[nodes, bytes, depth, shared]`` for containers and stand-ins
    (a list, updated while it grows), a tuple for scalars. Building a container sums its items' sizes, so depth
    and totals are known before it exists; a shared reference (``GET``, ``DUP``) counts its whole size again and
    freezes it.

    Args:
        data: The pickle's bytes (a large ``bytes`` / ``memoryview``; array data stays a view of it).
        find_class: ``(module, name) -> object`` for ``GLOBAL`` / ``STACK_GLOBAL``; raises :class:`RefusedGlobal`
            for what it does not provide. ``REDUCE`` calls only what it returned, never anything imported.
        limits: The bounds (see :class:`PickleLimits`).
    """

    #: Opcodes refused by this reader (a subclass may allow persistent ids, see :func:`scan_bytes`).
    refused = _REFUSED

    def __init__(self, data: bytes | memoryview, find_class: Any, limits: PickleLimits = DEFAULT_LIMITS) -> None:
        self.data, self.pos, self.find_class, self.limits = memoryview(data).cast("B"), 0, find_class, limits
        self.nodes = self.bytes = 0
        self._globals: dict[int, str] = {}  # id -> name of every object the table gave (REDUCE calls only those)
        self._alive: list[Any] = []  # keeps the table's objects alive: their ids stay theirs

    # ------------------------------------------------------------------------------------------------- input
    def _take(self, n: int) -> memoryview:
        remaining = len(self.data) - self.pos
        if n > remaining:
            raise PickleRefused(f"an opcode declares {n} bytes where {remaining} remain in the file")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def _line(self) -> bytes:
        end = bytes(self.data[self.pos:self.pos + (1 << 16)]).find(b"\n")
        if end < 0:
            raise PickleRefused("a text argument without its newline (or longer than 64 KiB)")
        line = bytes(self.data[self.pos:self.pos + end])
        self.pos += end + 1
        return line

    def _length(self, fmt: str) -> int:
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    # ------------------------------------------------------------------------------------------------- counts
    def _count(self, nodes: int, nbytes: int) -> None:
        self.nodes += nodes
        self.bytes += nbytes
        if self.nodes > self.limits.nodes:
            raise PickleRefused(f"more than {self.limits.nodes:,} values (shared references count at every use)")
        if self.bytes > self.limits.bytes:
            raise PickleRefused(f"more than {self.limits.bytes:,} bytes of data (shared references count at "
                                "every use)")

    def _push(self, value: Any, nbytes: int = 0) -> None:
        self._count(1, nbytes)  # text and bytes count their length: a scalar shared many times adds up
        self.stack.append(value)
        self.mstack.append((1, nbytes, 0))

    def _sum(self, metas: list) -> list:
        """The size of a new container holding items of sizes ``metas``; refused when too deep."""
        nodes, nbytes, depth = 1, 0, 0
        for m in metas:
            nodes += m[0]
            nbytes += m[1]
            if m[2] >= depth:
                depth = m[2] + 1
        if depth > self.limits.depth:
            raise PickleRefused(f"containers nested deeper than {self.limits.depth} levels")
        return [nodes, nbytes, depth, False]

    def _new(self, build: Any, items: list, metas: list) -> None:
        """Push a container ``build(items)``: its size first, so nothing too deep is ever built (or hashed)."""
        meta = self._sum(metas)
        value = build(items)
        self._count(1, 0)
        self.stack.append(value)
        self.mstack.append(meta)

    def _grow(self, meta: Any, metas: list, what: str) -> None:
        """A container of size ``meta`` gains items of sizes ``metas``: refused once it is shared."""
        if type(meta) is not list:
            raise PickleRefused(f"items added to {what}")
        if meta[3]:
            raise PickleRefused("a container changed after it was shared (or contains itself)")
        for m in metas:
            meta[0] += m[0]
            meta[1] += m[1]
            if m[2] >= meta[2]:
                meta[2] = m[2] + 1
        if meta[2] > self.limits.depth:
            raise PickleRefused(f"containers nested deeper than {self.limits.depth} levels")

    def _share(self, value: Any, meta: Any) -> None:
        """Push ``value`` again (``GET``, ``DUP``): it counts its whole size once more and can no longer change."""
        self._count(meta[0], meta[1])
        if type(meta) is list:
            meta[3] = True
        self.stack.append(value)
        self.mstack.append(meta)

    def _pop_mark(self) -> tuple[list, list]:
        items, metas = self.stack, self.mstack
        if not self.metastack:
            raise PickleRefused("a MARK-ed opcode without a MARK")
        self.stack, self.mstack = self.metastack.pop()
        return items, metas

    def _pop(self) -> tuple[Any, Any]:
        if not self.stack:
            raise PickleRefused("an opcode on an empty stack (or a MARK used as a value)")
        return self.stack.pop(), self.mstack.pop()

    def _top(self) -> tuple[Any, Any]:
        if not self.stack:
            raise PickleRefused("an opcode on an empty stack (or a MARK used as a value)")
        return self.stack[-1], self.mstack[-1]

    @staticmethod
    def _hashable(keys: list) -> None:
        for key in keys:
            if isinstance(key, (list, dict, set, bytearray, memoryview)):
                raise PickleRefused(f"a {type(key).__name__} as a dict key or set member")

    # ------------------------------------------------------------------------------------------------- run
    def load(self) -> Any:
        """The pickle's value (stand-ins of the ``find_class`` table where it named globals)."""
        # Every value carries a small size record: with the cyclic collector on, its passes over millions of live
        # records cost more than the load itself. Nothing built here can form a cycle (a container cannot take
        # itself), so nothing is left for the collector to find.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load()
        finally:
            if enabled:
                gc.enable()

    def _load(self) -> Any:
        self.stack: list[Any] = []
        self.mstack: list[Any] = []
        self.metastack: list[tuple[list, list]] = []
        self.memo: dict[int, tuple[Any, Any]] = {}
        handlers = {code: getattr(self, f"_op_{name.lower()}") for code, name in _OPS.items()
                    if name not in self.refused and hasattr(self, f"_op_{name.lower()}")}
        data, size, memo = self.data, len(self.data), self.memo
        scalar = (1, 0, 0)
        while True:
            pos = self.pos
            if pos >= size:
                raise PickleRefused("the file ends before the pickle's STOP")
            code = data[pos]
            # The commonest opcodes of a PYSKL file inline (a third of the time of a method call each).
            if code == 0x94 and self.stack:  # MEMOIZE
                self.pos = pos + 1
                memo[len(memo)] = (self.stack[-1], self.mstack[-1])
                continue
            if (code == 0x68 and pos + 1 < size) or (code == 0x6A and pos + 4 < size):  # BINGET, LONG_BINGET
                if code == 0x68:
                    self.pos, index = pos + 2, data[pos + 1]
                else:
                    self.pos, index = pos + 5, int.from_bytes(data[pos + 1:pos + 5], "little")
                entry = memo.get(index)
                if entry is None:
                    raise PickleRefused(f"a reference to memo entry {index}, which does not exist")
                value, meta = entry
                self.nodes += meta[0]
                self.bytes += meta[1]
                if type(meta) is list:
                    meta[3] = True  # shared: it cannot change any more
                    if self.nodes > self.limits.nodes or self.bytes > self.limits.bytes:
                        self._count(0, 0)
                self.stack.append(value)
                self.mstack.append(meta)
                continue
            if code == 0x8C and pos + 1 < size:  # SHORT_BINUNICODE
                n = data[pos + 1]
                if pos + 2 + n <= size:
                    self.pos = pos + 2 + n
                    try:
                        text = str(data[pos + 2:pos + 2 + n], "utf-8", "surrogatepass")
                    except UnicodeDecodeError:
                        raise PickleRefused("text that is not utf-8") from None
                    self.nodes += 1
                    self.bytes += n
                    self.stack.append(text)
                    self.mstack.append((1, n, 0))
                    continue
            if code == 0x4B and pos + 1 < size:  # BININT1
                self.pos = pos + 2
                self.nodes += 1
                self.stack.append(data[pos + 1])
                self.mstack.append(scalar)
                continue
            if code == 0x28:  # MARK
                self.pos = pos + 1
                self.metastack.append((self.stack, self.mstack))
                self.stack, self.mstack = [], []
                continue
            self.pos = pos + 1
            if code == 0x2E:  # STOP
                value, _ = self._pop()
                if self.stack or self.metastack:
                    raise PickleRefused("values left on the stack at STOP")
                return value
            handler = handlers.get(code)
            if handler is None:
                name = _OPS.get(code)
                raise PickleRefused(f"the opcode {name} (it builds objects or reads outside the file)" if name
                                    else f"an unknown opcode {code:#04x}")
            handler()

    # scalars
    def _op_proto(self) -> None:
        if self._take(1)[0] > 5:
            raise PickleRefused("a pickle protocol above 5")

    def _op_frame(self) -> None:
        n = self._length("<Q")
        if n > len(self.data) - self.pos:
            raise PickleRefused(f"a frame of {n} bytes where {len(self.data) - self.pos} remain in the file")

    def _op_none(self) -> None:
        self._push(None)

    def _op_newtrue(self) -> None:
        self._push(True)

    def _op_newfalse(self) -> None:
        self._push(False)

    def _op_binint(self) -> None:
        self._push(self._length("<i"))

    def _op_binint1(self) -> None:
        self._push(self._take(1)[0])

    def _op_binint2(self) -> None:
        self._push(self._length("<H"))

    def _text_int(self, data: bytes) -> int:
        if len(data) > 2 * _MAX_INT_BYTES:
            raise PickleRefused(f"an integer of {len(data)} digits")
        try:
            return int(data.rstrip(b"L"), 0 if data[:2].lower() == b"0x" else 10)
        except ValueError:
            raise PickleRefused("a malformed integer") from None

    def _op_int(self) -> None:
        data = self._line()
        self._push({b"00": False, b"01": True}[data] if data in (b"00", b"01") else self._text_int(data))

    def _op_long(self) -> None:
        self._push(self._text_int(self._line()))

    def _long(self, n: int) -> None:
        if not 0 <= n <= _MAX_INT_BYTES:
            raise PickleRefused(f"an integer of {n} bytes")
        self._push(int.from_bytes(self._take(n), "little", signed=True))

    def _op_long1(self) -> None:
        self._long(self._take(1)[0])

    def _op_long4(self) -> None:
        self._long(self._length("<i"))

    def _op_float(self) -> None:
        try:
            self._push(float(self._line()))
        except ValueError:
            raise PickleRefused("a malformed float") from None

    def _op_binfloat(self) -> None:
        self._push(self._length(">d"))

    def _bytes(self, n: int) -> None:
        view = self._take(n)
        # Large data (array contents) stays a view of the file's bytes: no second copy.
        self._push(view if n >= _VIEW_BYTES else bytes(view), n)

    def _op_short_binbytes(self) -> None:
        self._bytes(self._take(1)[0])

    def _op_binbytes(self) -> None:
        self._bytes(self._length("<I"))

    def _op_binbytes8(self) -> None:
        self._bytes(self._length("<Q"))

    def _op_bytearray8(self) -> None:
        n = self._length("<Q")
        self._push(bytearray(self._take(n)), n)  # checked against the file before anything of that size exists

    def _text(self, data: memoryview | bytes, encoding: str = "utf-8") -> None:
        try:
            self._push(str(data, encoding, "surrogatepass"), len(data))
        except UnicodeDecodeError:
            raise PickleRefused(f"text that is not {encoding}") from None

    def _op_short_binunicode(self) -> None:
        self._text(self._take(self._take(1)[0]))

    def _op_binunicode(self) -> None:
        self._text(self._take(self._length("<I")))

    def _op_binunicode8(self) -> None:
        self._text(self._take(self._length("<Q")))

    def _op_unicode(self) -> None:
        self._text(self._line(), "raw-unicode-escape")

    def _op_string(self) -> None:
        data = self._line()
        if len(data) < 2 or data[0] != data[-1] or data[:1] not in (b"'", b'"'):
            raise PickleRefused("a STRING without quotes")
        try:
            self._text(codecs.escape_decode(data[1:-1])[0], "ascii")
        except ValueError:
            raise PickleRefused("a malformed STRING") from None

    def _op_binstring(self) -> None:
        self._text(self._take(self._length("<i")), "latin-1")

    def _op_short_binstring(self) -> None:
        self._text(self._take(self._take(1)[0]), "latin-1")

    # stack and memo
    def _op_mark(self) -> None:
        self.metastack.append((self.stack, self.mstack))
        self.stack, self.mstack = [], []

    def _op_pop(self) -> None:
        if self.stack:
            self._pop()
        else:
            self._pop_mark()

    def _op_pop_mark(self) -> None:
        self._pop_mark()

    def _op_dup(self) -> None:
        self._share(*self._top())

    def _get(self, index: int) -> None:
        entry = self.memo.get(index)
        if entry is None:
            raise PickleRefused(f"a reference to memo entry {index}, which does not exist")
        self._share(*entry)

    def _op_get(self) -> None:
        self._get(self._text_int(self._line()))

    def _op_binget(self) -> None:
        self._get(self._take(1)[0])

    def _op_long_binget(self) -> None:
        self._get(self._length("<I"))

    def _put(self, index: int) -> None:
        entry = self._top()
        if len(self.memo) >= self.limits.nodes and index not in self.memo:
            raise PickleRefused("too many memo entries")
        self.memo[index] = entry

    def _op_put(self) -> None:
        self._put(self._text_int(self._line()))

    def _op_binput(self) -> None:
        self._put(self._take(1)[0])

    def _op_long_binput(self) -> None:
        self._put(self._length("<I"))

    def _op_memoize(self) -> None:
        self._put(len(self.memo))

    # containers
    def _op_empty_tuple(self) -> None:
        self._new(tuple, [], [])

    def _tuple(self, n: int) -> None:
        if len(self.stack) < n:
            raise PickleRefused("a tuple of more values than the stack holds (or a MARK used as a value)")
        items, metas = self.stack[-n:], self.mstack[-n:]
        del self.stack[-n:], self.mstack[-n:]
        self._new(tuple, items, metas)

    def _op_tuple1(self) -> None:
        self._tuple(1)

    def _op_tuple2(self) -> None:
        self._tuple(2)

    def _op_tuple3(self) -> None:
        self._tuple(3)

    def _op_tuple(self) -> None:
        self._new(tuple, *self._pop_mark())

    def _op_empty_list(self) -> None:
        self._new(list, [], [])

    def _op_list(self) -> None:
        self._new(list, *self._pop_mark())

    def _op_empty_dict(self) -> None:
        self._new(dict, [], [])

    def _op_dict(self) -> None:
        items, metas = self._pop_mark()
        if len(items) % 2:
            raise PickleRefused("a dict of an odd number of keys and values")
        self._hashable(items[::2])
        self._new(lambda kv: dict(zip(kv[::2], kv[1::2])), items, metas)  # depth known before keys are hashed

    def _op_empty_set(self) -> None:
        self._new(set, [], [])

    def _op_frozenset(self) -> None:
        items, metas = self._pop_mark()
        self._hashable(items)
        self._new(frozenset, items, metas)

    def _op_append(self) -> None:
        item, meta = self._pop()
        target, tmeta = self._top()
        if type(target) is not list:
            raise PickleRefused(f"APPEND to a {type(target).__name__}")
        self._grow(tmeta, [meta], "a list")
        target.append(item)

    def _op_appends(self) -> None:
        items, metas = self._pop_mark()
        target, tmeta = self._top()
        if type(target) is not list:
            raise PickleRefused(f"APPENDS to a {type(target).__name__}")
        self._grow(tmeta, metas, "a list")
        target.extend(items)

    def _op_setitem(self) -> None:
        value, vmeta = self._pop()
        key, kmeta = self._pop()
        self._setitems([key, value], [kmeta, vmeta])

    def _op_setitems(self) -> None:
        self._setitems(*self._pop_mark())

    def _setitems(self, items: list, metas: list) -> None:
        target, tmeta = self._top()
        if type(target) is not dict:
            raise PickleRefused(f"SETITEMS on a {type(target).__name__}")
        if len(items) % 2:
            raise PickleRefused("SETITEMS of an odd number of keys and values")
        self._hashable(items[::2])
        self._grow(tmeta, metas, "a dict")  # depth checked before any key is hashed
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _op_additems(self) -> None:
        items, metas = self._pop_mark()
        target, tmeta = self._top()
        if type(target) is not set:
            raise PickleRefused(f"ADDITEMS to a {type(target).__name__}")
        self._hashable(items)
        self._grow(tmeta, metas, "a set")
        target.update(items)

    # globals: only the table's stand-ins
    def _global(self, module: Any, name: Any) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            raise PickleRefused("a global named by something other than text")
        target = self.find_class(module, name)
        self._globals[id(target)] = f"{module}.{name}"
        self._alive.append(target)
        self._count(1, 0)
        self.stack.append(target)
        self.mstack.append([1, 0, 0, False])

    def _op_global(self) -> None:
        module = self._line().decode("utf-8", "replace")
        self._global(module, self._line().decode("utf-8", "replace"))

    def _op_stack_global(self) -> None:
        name, _ = self._pop()
        module, _ = self._pop()
        self._global(module, name)

    def _op_reduce(self) -> None:
        args, ameta = self._pop()
        func, _ = self._pop()
        name = self._globals.get(id(func))
        if name is None or not callable(func) or type(args) is not tuple:
            raise PickleRefused("REDUCE of something other than an allowed global and a tuple")
        try:
            result = func(*args)
        except PickleRefused:
            raise
        except Exception as err:  # the stand-ins raise on arguments they do not take
            raise PickleRefused(f"{name}: {' '.join(str(err).split())[:120] or type(err).__name__}") from None
        self._alive.append(result)
        self._count(1, 0)
        self.stack.append(result)
        self.mstack.append(self._sum([ameta]))

    def _op_build(self) -> None:
        state, smeta = self._pop()
        target, tmeta = self._top()
        setstate = getattr(target, "__setstate__", None)
        if setstate is None or isinstance(target, (type, dict, list, set, tuple)) or type(tmeta) is not list:
            raise PickleRefused(f"BUILD of a {type(target).__name__}")
        self._grow(tmeta, [smeta], "a value")
        try:
            setstate(state)
        except PickleRefused:
            raise
        except Exception as err:
            raise PickleRefused(f"state of a {type(target).__name__}: "
                                f"{' '.join(str(err).split())[:120] or type(err).__name__}") from None


class _Scanner(BoundedUnpickler):
    """Every global and persistent id is an inert stand-in: only the structure and its bounds are checked."""

    refused = _REFUSED - {"PERSID", "BINPERSID"}

    def __init__(self, data: bytes, limits: PickleLimits) -> None:
        super().__init__(data, lambda module, name: dict if (module, name) == ("collections", "OrderedDict")
                         else _Inert(), limits)

    def _setitems(self, items: list, metas: list) -> None:
        target, tmeta = self._top()
        if not isinstance(target, _Inert):
            return super()._setitems(items, metas)
        self._grow(tmeta, metas, "a value")  # sized and depth-checked like a dict, nothing hashed

    def _op_appends(self) -> None:
        target = self.metastack[-1][0][-1] if self.metastack and self.metastack[-1][0] else None
        if not isinstance(target, _Inert):
            return super()._op_appends()
        _, metas = self._pop_mark()
        self._grow(self.mstack[-1], metas, "a value")

    def _op_build(self) -> None:  # torch sets attributes (a state dict's ``_metadata``): sized, never applied
        _, smeta = self._pop()
        _, tmeta = self._top()
        if type(tmeta) is not list:
            raise PickleRefused("BUILD of a plain value")
        self._grow(tmeta, [smeta], "a value")

    def _op_binpersid(self) -> None:
        self._pop()
        self._push(_Inert())

    def _op_persid(self) -> None:
        self._line()
        self._push(_Inert())


def scan_bytes(data: bytes, limits: PickleLimits | None = None) -> None:
    """Read the pickle ``data`` with every global and persistent id replaced by an inert stand-in, only to refuse
    it early: it raises :class:`PickleRefused` for what breaks the rules or limits (deep keys, shared expansion,
    declared sizes) and returns nothing. Run on a checkpoint's ``data.pkl`` before torch's own restricted
    unpickler reads it (which hashes keys recursively and trusts declared sizes)."""
    _Scanner(data, limits or DEFAULT_LIMITS).load()


class _Inert:
    """A global of a scanned pickle: callable with anything, takes any state, builds nothing."""

    def __call__(self, *args: Any) -> _Inert:
        return _Inert()

    def __setstate__(self, state: Any) -> None:
        pass




class NotTorchArchive(PickleRefused):
    """A file that is not the zip archive ``torch.save`` writes (damaged, truncated, another format)."""


def scan_torch_archive(path: str | os.PathLike, max_expansion: int = 4) -> None:
    """Check a ``torch.save`` file before ``torch.load`` reads it: a zip archive (else :class:`NotTorchArchive`)
    whose members expand to at most ``max_expansion`` times the file (plus 1 MiB; torch stores them
    uncompressed) and whose one ``data.pkl`` passes :func:`scan_bytes` (else :class:`PickleRefused`). Messages are
    one line."""
    size = os.stat(path).st_size
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            expanded = sum(i.file_size for i in infos)
            if expanded > max_expansion * size + 2**20:
                raise PickleRefused(f"its members expand to {expanded:,} bytes from a file of {size:,}")
            pickles = [i for i in infos if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
            if len(pickles) != 1:
                raise NotTorchArchive("torch.save's archive holds one data.pkl")
            data = archive.read(pickles[0])
    except PickleRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, zlib.error) as err:  # RuntimeError: an encrypted member
        raise NotTorchArchive("not the zip archive torch.save writes: "
                              f"{' '.join(str(err).split())[:120] or type(err).__name__}") from None
    try:
        scan_bytes(data)
    except (PickleRefused, TypeError, ValueError) as err:
        raise PickleRefused(f"its pickle is not plain data ({' '.join(str(err).split())[:160]})") from None


def torch_refusal(err: BaseException) -> str:
    """The reason in an error of ``torch.load(weights_only=True)``, on one line: the global it refused
    (``the global posix.system``) where it names one, else the first line that is not torch's generic advice."""
    text = str(err)
    found = re.search(r"GLOBAL\s+([\w.]+)", text)
    if found:
        return f"the global {found.group(1)}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    specific = [line for line in lines if not line.startswith(("Weights only load failed", "Check the documentation",
                                                               "Please file an issue", "In PyTorch"))]
    return (specific or lines or [type(err).__name__])[0][:200]
