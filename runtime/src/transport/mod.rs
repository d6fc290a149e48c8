//! Sans-IO MTProto transports: abridged, intermediate, padded intermediate, full, and obfuscated2 over any of them.
