"""feeds: a self-hosted RSS/Atom aggregator and publisher."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/feeds-project/feeds"
