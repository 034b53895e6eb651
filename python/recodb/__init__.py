"""recodb: an embedded recommendation database.

    >>> import recodb
    >>> db = recodb.connect()                        # or recodb.connect("mydb")
    >>> db.insert_interactions([1, 1, 2], ["a", "b", "a"])["new_interactions"]
    3
    >>> db.train("pop").fetchall()[0][:3]
    ('pop', 'pop', 1)
    >>> items, scores = db.recommend("pop", [2], k=1)
    >>> items.tolist()
    [['b']]

Statements of the query language run through `Database.execute` and `Database.query` (with `?`
parameters bound as values); bulk data moves through `insert_interactions`, `add_items` and `add_users`
(NumPy arrays or pandas columns, no text); `recommend` serves many users at once, in parallel;
`train` trains any of recodb's algorithms inside the database, with a progress bar when tqdm is
installed. Errors are `recodb.Error` and its subclasses, with the position of the mistake.
"""

from ._recodb import (
    Cancelled,
    Conflict,
    CorruptError,
    Database as _NativeDatabase,
    Error,
    FileError,
    InternalError,
    InvalidArgument,
    Job,
    JobFailed,
    NotFound,
    ParseError,
    Result,
    StorageError,
    Unsupported,
)

__all__ = [
    "connect",
    "Database",
    "Result",
    "Job",
    "Error",
    "ParseError",
    "NotFound",
    "InvalidArgument",
    "Unsupported",
    "Conflict",
    "JobFailed",
    "Cancelled",
    "FileError",
    "StorageError",
    "CorruptError",
    "InternalError",
]


class Database(_NativeDatabase):
    """An open recodb database (see `connect`). Share it between threads; use it in a `with` block to
    close it at the end."""

    def train(self, algorithm, name=None, *, background=False, progress=True, **params):
        """Trains `algorithm` (`"ease"`, `"als"`, `"dsiml"`, ...; `SHOW ALGORITHMS` lists them and their
        parameters) into the model `name` (default: the algorithm's name) with `params`, which are bound as
        values. Returns the published model's row as a `Result` when training is done; Ctrl-C
        (`KeyboardInterrupt`) cancels the job, which then publishes nothing. With `progress=True` and tqdm
        installed, a progress bar follows each phase. With `background=True`, returns a `Job` at once.
        """
        bar = _Bar() if progress and not background else None
        try:
            return self._train(
                algorithm,
                name=name,
                params=params,
                background=background,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()


def connect(path=None, read_only=False):
    """Opens the recodb database in directory `path` (created if absent), or a temporary one in memory
    when `path` is None. With `read_only=True`, opens a private read-only copy of the database, so that
    many processes can each open one; statements that would change it raise `Conflict`."""
    return Database(path, read_only)


class _Bar:
    """A tqdm bar per training phase, when tqdm is installed (nothing otherwise)."""

    def __init__(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm
        self._bar = None
        self._phase = None

    def update(self, phase, done, total):
        if self._tqdm is None:
            return
        if phase != self._phase or self._bar is None:
            self.close()
            self._phase = phase
            self._bar = self._tqdm(total=total or None, desc=phase, leave=False)
        self._bar.n = done
        self._bar.refresh()

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
