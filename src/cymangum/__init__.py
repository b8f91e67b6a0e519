"""cymangum: a fast, drop-in replacement for Mangum (ASGI applications on AWS Lambda)."""

from .adapter import Mangum

__version__ = "0.1.0"
__all__ = ["Mangum"]
