"""Resumable jobs on disk: manifests, resume, shards, saved figures and the gallery site."""

from .core import (GALLERY, INDEX, MANIFEST, JobResult, build_gallery, build_site, completed, entries_of, file_stem,
                   filter_file, free_folder, free_name, header, header_of, in_shard, label, manifest_name, merged,
                   parse_shard, read_manifest, render_job, run_job, save_dream, save_figure, save_images,
                   save_rendering, slug, undo_on_error, versions, write_manifest)

__all__ = [
    "GALLERY", "INDEX", "JobResult", "MANIFEST", "build_gallery", "build_site", "completed", "entries_of",
    "file_stem", "filter_file", "free_folder", "free_name", "header", "header_of", "in_shard", "label",
    "manifest_name", "merged", "parse_shard", "read_manifest", "render_job", "run_job", "save_dream", "save_figure",
    "save_images", "save_rendering", "slug", "undo_on_error", "versions", "write_manifest",
]
