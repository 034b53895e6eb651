"""Type stubs of recodb, the embedded recommendation database."""

from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Key = Union[int, str]
Keys = Union[Sequence[Key], npt.NDArray[np.integer[Any]], Any]

class Error(Exception):
    """Every error recodb raises. `str(e)` is the shell's message, with the position when there is one."""

    kind: str
    message: str
    line: Optional[int]
    column: Optional[int]
    offset: Optional[int]
    length: Optional[int]
    suggestion: Optional[str]
    what: Optional[str]
    path: Optional[str]
    file_line: Optional[int]

class ParseError(Error):
    """The statement text does not parse."""

class NotFound(Error):
    """A statement names something that does not exist (`what` says what)."""

class InvalidArgument(Error):
    """A value is of the wrong type or out of range."""

class Unsupported(Error):
    """The model or statement cannot do what is asked."""

class Conflict(Error):
    """The database's state does not allow the statement now (or the database is read-only)."""

class JobFailed(Error):
    """A training job that was waited for failed."""

class Cancelled(Error):
    """The statement or job was cancelled and changed nothing."""

class FileError(Error):
    """A file could not be read, imported or written (`path`, and `file_line` for a bad line)."""

class StorageError(Error):
    """The database could not be opened, read or written."""

class CorruptError(Error):
    """Data read back from the database is invalid."""

class InternalError(Error):
    """A bug in recodb."""

class Result:
    """The rows a statement returned, under named, typed columns."""

    @property
    def columns(self) -> list[str]: ...
    @property
    def notices(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[tuple[Any, ...]]: ...
    def __getitem__(self, i: int) -> tuple[Any, ...]: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def to_dicts(self) -> list[dict[str, Any]]: ...
    def to_numpy(self) -> dict[str, npt.NDArray[Any]]: ...
    def df(self) -> Any: ...

class Job:
    """A training job running in the background."""

    @property
    def id(self) -> int: ...
    def progress(self) -> dict[str, Any]: ...
    def wait(self) -> Result: ...
    def cancel(self) -> Result: ...

class Database:
    """An open recodb database; a context manager; shared safely by threads."""

    def __init__(self, path: Optional[str] = None, read_only: bool = False) -> None: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def read_only(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Database": ...
    def __exit__(self, *args: Any) -> bool: ...
    def execute(self, script: str) -> list[Result]: ...
    def query(self, statement: str, params: Optional[Sequence[Any]] = None) -> Result: ...
    def insert_interactions(
        self,
        users: Keys,
        items: Keys,
        weights: Optional[Union[Sequence[float], npt.NDArray[np.floating[Any]]]] = None,
        times: Optional[Union[Sequence[int], npt.NDArray[np.integer[Any]]]] = None,
    ) -> dict[str, int]: ...
    def add_items(self, keys: Keys, tags: Optional[Sequence[Union[None, str, Sequence[str]]]] = None) -> dict[str, int]: ...
    def add_users(self, keys: Keys, tags: Optional[Sequence[Union[None, str, Sequence[str]]]] = None) -> dict[str, int]: ...
    def recommend(
        self,
        model: str,
        users: Keys,
        k: int = 10,
        filter: Optional[str] = None,
        exclude_seen: bool = True,
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[np.float64]]: ...
    def train(
        self,
        algorithm: str,
        name: Optional[str] = None,
        *,
        background: bool = False,
        progress: bool = True,
        **params: Any,
    ) -> Union[Result, Job]: ...
    def stats(self) -> dict[str, Union[int, float]]: ...
    def check_integrity(self) -> None: ...

def connect(path: Optional[str] = None, read_only: bool = False) -> Database: ...
