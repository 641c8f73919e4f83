"""CMU-MultimodalSDK computational sequences (`.csd`), cut into utterances of the generic format."""
