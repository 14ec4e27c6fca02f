"""Storm spouts: thin streamparse adapters over shoot2top sources."""
