//! Health-checked anycast: what netd does for `[anycast.NAME]` services.

pub mod render;
