from arhiva.config.settings import PIPELINE_VERSION, Settings

__all__ = ["PIPELINE_VERSION", "Settings"]
