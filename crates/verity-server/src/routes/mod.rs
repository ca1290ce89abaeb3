pub mod addresses;
pub mod checks;
pub mod clients;
pub mod documents;
pub mod intake;
pub mod media;
pub mod videos;
pub mod webhooks;
