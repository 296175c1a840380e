//! SQLite loadable extension (to be written).
