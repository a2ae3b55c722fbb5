"""Web glue every app may import (API errors, HTMX responses); it imports no app."""
