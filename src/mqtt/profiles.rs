//! What cloud brokers document as their per-connection limits, for
//! `--broker-profile`. Each value is the provider's published quota (the
//! sources, read in December 2026, are in docs/broker.rst); a profile only
//! fills in what a flag did not set.

/// The documented limits of one kind of broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The name `--broker-profile` takes.
    pub name: &'static str,
    /// The service, in words.
    pub service: &'static str,
    /// Publishes per second per connection.
    pub publishes: Option<u32>,
    /// Bytes per second per connection.
    pub bytes: Option<u64>,
    /// Largest message (payload) in bytes.
    pub max_message: usize,
    /// Whether QoS 2 is supported.
    pub qos2: bool,
    /// Subscriptions (topic filters) one connection may hold.
    pub subscriptions: Option<usize>,
}

/// AWS IoT Core: 100 publishes and 512 KiB per second per connection, 128
/// KiB messages, 50 subscriptions per connection, no QoS 2 (it answers
/// neither the PUBLISH nor the SUBSCRIBE).
pub const AWS_IOT: Profile = Profile {
    name: "aws-iot",
    service: "AWS IoT Core",
    publishes: Some(100),
    bytes: Some(512 * 1024),
    max_message: 128 * 1024,
    qos2: false,
    subscriptions: Some(50),
};

/// EMQX Cloud Serverless: 10 publishes per second per client, 1 MB
/// messages, 10 subscriptions per client; QoS 2 supported.
pub const EMQX_SERVERLESS: Profile = Profile {
    name: "emqx-serverless",
    service: "EMQX Cloud Serverless",
    publishes: Some(10),
    bytes: None,
    max_message: 1024 * 1024,
    qos2: true,
    subscriptions: Some(10),
};

/// Azure Event Grid (MQTT broker): 1 MB per second per session, 512 KB
/// messages, no QoS 2. Publishes per session: 100 per second in earlier
/// revisions of its quota page, 1,000 in later ones; 100 here, which at 1
/// MB/s only means frames of 10 KB.
pub const AZURE_EVENT_GRID: Profile = Profile {
    name: "azure-event-grid",
    service: "Azure Event Grid",
    publishes: Some(100),
    bytes: Some(1_000_000),
    max_message: 512 * 1024,
    qos2: false,
    subscriptions: None,
};

/// Every profile, in help order.
pub const PROFILES: [Profile; 3] = [AWS_IOT, EMQX_SERVERLESS, AZURE_EVENT_GRID];

/// The profile `name` names, if any (`none` names none).
pub fn find(name: &str) -> Option<Profile> {
    PROFILES.iter().find(|p| p.name == name).copied()
}

/// The names `--broker-profile` takes, for its error and help texts.
pub fn names() -> String {
    let mut names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
    names.push("none");
    names.join(", ")
}
