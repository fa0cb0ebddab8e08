"""HTTP routes grouped by feature, each an APIRouter that builder.api includes."""
