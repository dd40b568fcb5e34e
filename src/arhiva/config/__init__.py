from arhiva.config.settings import PIPELINE_VERSION, Settings, prefect_environment

__all__ = ["PIPELINE_VERSION", "Settings", "prefect_environment"]
