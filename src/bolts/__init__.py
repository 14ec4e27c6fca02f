"""Storm bolts: thin streamparse adapters over shoot2top sinks."""
