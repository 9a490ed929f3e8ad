"""Resumable jobs on disk: manifests, resume, shards, saved figures and the gallery site."""

from .runs import OUTPUTS, chosen_layers, dream_job, objective_job, render_layers
from .atlas_job import AtlasResult, atlas_job
from .atlas_site import build_atlas
from .examples_job import ExamplesResult, examples_job
from .figures import save_dream, save_figure
from .folders import free_folder, free_name, undo_on_error
from .manifest import (MANIFEST, completed, entries_of, file_stem, filter_file, header, header_of, manifest_name,
                       merged, read_manifest, slug, versions, write_manifest)
from .render_job import Job, JobResult, open_job, render_job, render_on_ray, run_job, save_images, save_rendering
from .restitch import GALLERY, INDEX, build_gallery, build_site, label
from .shards import in_shard, parse_shard

__all__ = [
    "AtlasResult", "atlas_job", "build_atlas", "ExamplesResult", "GALLERY", "INDEX", "Job", "JobResult", "MANIFEST",
    "OUTPUTS", "build_gallery", "build_site",
    "chosen_layers", "completed", "dream_job", "entries_of", "examples_job", "file_stem", "filter_file",
    "free_folder", "free_name", "header", "header_of", "in_shard", "label", "manifest_name", "merged",
    "objective_job", "open_job", "parse_shard", "read_manifest", "render_job", "render_layers", "render_on_ray",
    "run_job", "save_dream",
    "save_figure", "save_images", "save_rendering", "slug", "undo_on_error", "versions", "write_manifest",
]
