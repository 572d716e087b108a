"""A local stand-in for S3: objects are files under ``root/<bucket>/<key>``."""

from showcase.store.errors import InvalidUri, NoSuchKey, StoreError
from showcase.store.objects import ObjectStore
from showcase.store.uris import join_uri, split_uri

__all__ = ["InvalidUri", "NoSuchKey", "ObjectStore", "StoreError", "join_uri", "split_uri"]
