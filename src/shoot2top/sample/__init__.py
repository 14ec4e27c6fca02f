"""The deterministic sample: generated items in the platforms' wire shapes (`generate`,
from the `world`'s publishers and topics, their `writing`, planted `trends`,
`engagement` curves and the `x`, `youtube` and `facebook` shapes) and the lake
production would have made of them (`lake`)."""
