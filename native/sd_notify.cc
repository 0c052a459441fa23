// placeholder, replaced by the addon implementation
