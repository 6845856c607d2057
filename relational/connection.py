"""The MariaDB connection under the pools: aiomysql's, with every wait bounded and a leaner reading of results.

aiomysql reads each packet of a result through two awaited reads, parses each column's definition packet anew for
every result (a collection's ~95 columns: a third of a one-row read) and decodes each value through a method call.
Here a packet already received is taken from the stream's buffer without awaiting, a statement's column
definitions are parsed once per connection (MariaDB sends the same bytes for the same columns) and a row's values
are decoded in one loop; what comes out is what aiomysql gives.
"""

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiomysql import Connection
from aiomysql.connection import MySQLResult
from pymysql.connections import MAX_PACKET_LEN, TEXT_TYPES
from pymysql.constants import CR, FIELD_TYPE
from pymysql.converters import convert_date, convert_datetime, decoders, through
from pymysql.err import OperationalError
from pymysql.protocol import FieldDescriptorPacket, MysqlPacket

#: a pymysql packet (its stubs leave out the data and position read here)
Packet = Any

#: parsed column definitions kept per connection (distinct result shapes; the statements are built once per shape):
#: ~80 KiB for a shape of 95 columns, a few KiB for most
DESCRIPTIONS_KEPT = 128
_BINARY = 63  # the charset number of binary strings
_NULL, _TWO, _THREE = 251, 252, 253  # a length-coded value's first byte: NULL, or its length in 2, 3 (or 8) bytes


@dataclass(frozen=True)
class Timeouts:
    """Seconds before a MariaDB wait gives up: opening a connection, each awaited answer, a free pooled
    connection. ``None``: wait as long as it takes (the command line's maintenance jobs)."""

    connect: float | None = None
    read: float | None = None
    pool: float = 30.0


@dataclass(frozen=True)
class _Columns:
    """A result's column definitions as aiomysql's ``MySQLResult`` holds them."""

    fields: tuple[Any, ...]  # pymysql's FieldDescriptorPacket
    converters: tuple[tuple[str | None, Any], ...]
    description: tuple[tuple[Any, ...], ...]


class _Result(MySQLResult):  # type: ignore[misc]  # aiomysql has no types
    """A buffered result read with the connection's buffered packets, known columns and one-loop rows."""

    connection: Any  # the TimedConnection until the result is read, then None (aiomysql's cycle breaking)

    async def _next_packet(self) -> Packet:
        packet = self.connection.buffered_packet()
        return packet if packet is not None else await self.connection._read_packet()

    async def _get_descriptions(self) -> None:
        connection = self.connection
        first = connection._next_seq_id
        span = connection.buffered_span(self.field_count)
        if span is None:  # not all received yet: packet by packet, framed as they came
            packets = [await self._next_packet() for _ in range(self.field_count)]
            span = b"".join(_framed(p._data, (first + i) % 256) for i, p in enumerate(packets))
        end = await self._next_packet()
        if not end.is_eof_packet():
            raise OperationalError(CR.CR_COMMANDS_OUT_OF_SYNC, "Protocol error: no EOF after the column definitions")
        columns = connection.descriptions.get(span)
        if columns is None:
            columns = connection.columns_of(span)
        self.fields = list(columns.fields)
        self.converters = list(columns.converters)
        self.description = columns.description

    async def _read_rowdata_packet(self) -> None:
        rows = []
        while True:
            packet = await self._next_packet()
            if self._check_packet_is_eof(packet):
                self.connection = None
                break
            rows.append(self._read_row_from_packet(packet))
        self.affected_rows = len(rows)
        self.rows = tuple(rows)

    def _read_row_from_packet(self, packet: Packet) -> tuple[Any, ...]:
        data: bytes = packet._data
        at: int = packet._position
        end = len(data)
        row: list[Any] = []
        for encoding, converter in self.converters:
            if at >= end:  # fewer values than columns (PyMySQL's tolerance, kept)
                break
            size = data[at]
            at += 1
            if size >= _NULL:
                if size == _NULL:
                    row.append(None)
                    continue
                width = 2 if size == _TWO else 3 if size == _THREE else 8
                size = int.from_bytes(data[at : at + width], "little")
                at += width
            value: Any = data[at : at + size]
            at += size
            if encoding is not None:
                value = value.decode(encoding)
            if converter is not None:
                value = converter(value)
            row.append(value)
        if at > end:
            raise OperationalError(CR.CR_MALFORMED_PACKET, "Malformed packet: a row is shorter than its values")
        return tuple(row)


def _datetime(text: str) -> datetime | str:
    """A DATETIME or TIMESTAMP value as PyMySQL decodes it (a zero date stays text), through the C ``fromisoformat``:
    a fifteenth of PyMySQL's regular expression's time, which a session page paid on its 150 dates."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return convert_datetime(text)


def _date(text: str) -> date | str:
    """A DATE value as PyMySQL decodes it, through ``fromisoformat`` (``_datetime``)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return convert_date(text)


#: PyMySQL's decoders, dates and times through ``fromisoformat``
DECODERS = {**decoders, FIELD_TYPE.DATETIME: _datetime, FIELD_TYPE.TIMESTAMP: _datetime, FIELD_TYPE.DATE: _date}


def _framed(data: bytes, sequence: int) -> bytes:
    """A packet's body with its header, as received."""
    return len(data).to_bytes(3, "little") + bytes((sequence,)) + data


class TimedConnection(Connection):  # type: ignore[misc]  # aiomysql has no types, so its Connection is Any
    """aiomysql's connection with the read timeout PyMySQL has and aiomysql lacks: a server that stops answering
    (hung, SIGSTOPped, a dead network path) fails the wait for its next packet after ``read_timeout`` seconds with
    the driver's own lost-connection error instead of holding the request forever. Buffered results are read by
    ``_Result``."""

    _next_seq_id: int  # aiomysql's: the sequence number the next packet must carry

    def __init__(self, read_timeout: float | None, **params: Any) -> None:
        super().__init__(conv=DECODERS, **params)
        self.read_timeout = read_timeout
        #: parsed column definitions by their packets' bytes as received
        self.descriptions: dict[bytes, _Columns] = {}

    def buffered_packet(self) -> Packet | None:
        """The next packet if the stream's buffer holds all of it (most packets of a result), else None: the
        driver's ``_read_packet`` then waits for it (and handles a packet split over 16 MiB)."""
        span = self.buffered_span(1)
        if span is None:
            return None
        packet: Packet = MysqlPacket(span[4:], self._encoding)
        if packet.is_error_packet():
            if self._result is not None and self._result.unbuffered_active is True:
                self._result.unbuffered_active = False
            packet.raise_for_error()
        return packet

    def buffered_span(self, count: int) -> bytes | None:
        """The next ``count`` packets as received (each with its 4-byte header) if the stream's buffer holds all
        of them, else None and nothing taken."""
        reader = self._reader
        buffer = reader._buffer
        if reader._exception is not None:
            return None
        at, sequence, received = 0, self._next_seq_id, len(buffer)
        for _ in range(count):
            if received < at + 4:
                return None
            size = buffer[at] | buffer[at + 1] << 8 | buffer[at + 2] << 16
            if size >= MAX_PACKET_LEN or buffer[at + 3] != sequence or received < at + 4 + size:
                return None
            at += 4 + size
            sequence = (sequence + 1) % 256
        span = bytes(buffer[:at])
        del buffer[:at]
        reader._maybe_resume_transport()
        self._next_seq_id = sequence
        return span

    def columns_of(self, span: bytes) -> _Columns:
        """Parse column definition packets (as received) as aiomysql does and keep them for the next result of
        that shape (their decoders depend on the connection's encoding, which the service never changes)."""
        packets, at = [], 0
        while at < len(span):
            size = int.from_bytes(span[at : at + 3], "little")
            packets.append(span[at + 4 : at + 4 + size])
            at += 4 + size
        fields: tuple[Any, ...] = tuple(FieldDescriptorPacket(data, self._encoding) for data in packets)
        converters = []
        for field in fields:
            if not self.use_unicode:
                encoding = None
            elif field.type_code == FIELD_TYPE.JSON:  # JSON: the connection's encoding, whatever its charset
                encoding = self.encoding
            elif field.type_code in TEXT_TYPES:
                encoding = None if field.charsetnr == _BINARY else self.encoding
            else:
                encoding = "ascii"  # numbers, dates and times
            converter = self.decoders.get(field.type_code)
            converters.append((encoding, None if converter is through else converter))
        columns = _Columns(fields, tuple(converters), tuple(f.description() for f in fields))
        if len(self.descriptions) >= DESCRIPTIONS_KEPT:
            self.descriptions.clear()
        self.descriptions[span] = columns
        return columns

    async def _read_query_result(self, unbuffered: bool = False) -> None:
        if unbuffered:  # a streamed result (the exports): the driver's own reading
            await super()._read_query_result(unbuffered=True)
            return
        self._result = None
        result = _Result(self)
        await result.read()
        self._result = result
        self._affected_rows = result.affected_rows
        if result.server_status is not None:
            self.server_status = result.server_status

    async def _read_bytes(self, num_bytes: int) -> bytes:  # every awaited read from the server goes through here
        if len(self._reader._buffer) >= num_bytes:  # already received: nothing to wait for
            return await super()._read_bytes(num_bytes)  # type: ignore[no-any-return]
        try:
            async with asyncio.timeout(self.read_timeout):
                data: bytes = await super()._read_bytes(num_bytes)
        except TimeoutError:
            self.close()
            message = f"Lost connection to MySQL server: no answer within {self.read_timeout} s"
            raise OperationalError(CR.CR_SERVER_LOST, message) from None
        return data

    async def rollback(self) -> None:
        """Nothing to roll back in autocommit (the read pool's mode: its sessions run SELECTs only), so no
        round trip; otherwise the driver's ROLLBACK."""
        if not self.autocommit_mode:
            await super().rollback()


async def open_connection(timeouts: Timeouts, params: dict[str, Any]) -> TimedConnection:
    """What ``aiomysql.connect`` does, with the connect timeout over the greeting and login too (aiomysql's
    own covers the TCP handshake only)."""
    connection = TimedConnection(timeouts.read, connect_timeout=timeouts.connect, **params)
    try:
        async with asyncio.timeout(timeouts.connect):
            await connection._connect()
    except TimeoutError:
        connection.close()
        message = f"Can't connect to MySQL server: no greeting within {timeouts.connect} s"
        raise OperationalError(CR.CR_CONN_HOST_ERROR, message) from None
    except BaseException:  # cancelled (e.g. the health probe's limit): leave no socket behind
        connection.close()
        raise
    return connection
