from tests.rig.fixtures import file_rig, mic_feeder  # noqa: F401
from tests.rig.shape import shape_shim  # noqa: F401
from tests.rig.unplug import unplug_shim  # noqa: F401
