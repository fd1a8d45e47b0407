"""State database: the privacy_gateway schema shared by every gateway replica."""
