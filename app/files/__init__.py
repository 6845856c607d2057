"""Files named by the database (snapshots, thumbnails, attachments, diffraction frames): path mapping and safety,
bounded file-system calls on threads of their own, streaming with Range. Every route serving a file uses these."""

from app.files.pool import FilePool
from app.files.serve import available, caller_login, download_path, file_response, in_file_thread, local_path

__all__ = ["FilePool", "available", "caller_login", "download_path", "file_response", "in_file_thread", "local_path"]
