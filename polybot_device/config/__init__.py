"""The configuration: YAML files -> frozen dataclasses, every error naming its key path.

* :mod:`.schema` (and :mod:`.controls` for the ``controls:`` section): the dataclasses, pure data;
* :mod:`.validate`: YAML data -> those dataclasses, with the error messages;
* :mod:`.layers`: reading the main file and its ``conf.d/*.yaml`` drop-ins, merged (owns loading);
* :mod:`.render`: showing it to people (check-config, the generated reference).

Callers import from here: ``from polybot_device.config import Config, ConfigError, load_config``.
"""

from .base import EX_CONFIG, ConfigError
from .controls import (
    COLOUR_NAMES,
    ButtonConfig,
    ControlsConfig,
    GestureAction,
    GesturesConfig,
    LanguageLedConfig,
    StatusLedConfig,
    parse_colour,
)
from .cost import ContextConfig, CostConfig, PricesConfig
from .layers import LayeredConfig, load_config, load_layered
from .reload import reloadable
from .render import all_key_paths, annotated_yaml, field_docs
from .schema import (
    ApiConfig,
    AudioConfig,
    AudioInputConfig,
    AudioOutputConfig,
    Config,
    CuesConfig,
    FleetConfig,
    LoggingConfig,
    MetricsConfig,
    Mode,
    PrivacyConfig,
    VadConfig,
    VoiceGateConfig,
)
from .validate import check_api_url, is_loopback, parse_config, parse_controls

__all__ = [
    "COLOUR_NAMES", "EX_CONFIG", "ApiConfig", "AudioConfig", "AudioInputConfig", "AudioOutputConfig",
    "ButtonConfig", "Config", "ConfigError", "ContextConfig", "ControlsConfig", "CostConfig", "CuesConfig",
    "FleetConfig", "GestureAction", "PricesConfig",
    "GesturesConfig", "LanguageLedConfig", "LayeredConfig", "LoggingConfig", "MetricsConfig", "Mode",
    "PrivacyConfig", "StatusLedConfig", "VadConfig", "VoiceGateConfig", "all_key_paths", "annotated_yaml",
    "check_api_url", "field_docs", "is_loopback", "load_config", "load_layered", "parse_colour", "parse_config",
    "parse_controls", "reloadable",
]
