pub mod clients;
pub mod media;
pub mod webhooks;
