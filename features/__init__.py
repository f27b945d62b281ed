"""Point-in-time feature layer: staging views, account features, training sets (see features.build)."""
