pub mod addresses;
pub mod clients;
pub mod media;
pub mod videos;
pub mod webhooks;
