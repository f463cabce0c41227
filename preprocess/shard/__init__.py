"""Shard writing, verification and previews."""

from .job import ShardError, ShardOptions, shard_dataset
from .preview import preview
from .verify import verify_shards

__all__ = ["ShardError", "ShardOptions", "preview", "shard_dataset", "verify_shards"]
