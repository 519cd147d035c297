"""The app's settings: ``environment`` reads variables (typed, with errors
that name the variable), ``settings`` declares each setting and its default
per environment. .env.example describes every variable."""

from .environment import ConfigError, Environment, generated_secret_key
from .settings import CONFIGS, DEV_SECRET_KEY, Config, load_config

__all__ = [
    "CONFIGS",
    "DEV_SECRET_KEY",
    "Config",
    "ConfigError",
    "Environment",
    "generated_secret_key",
    "load_config",
]
