// Placeholder until the media library lands.
