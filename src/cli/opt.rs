//! What an option of the table is: its flags, variable and help rows, and
//! the help groups they go in.

/// A section of the help text, in the order they are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Broker settings, for both sides.
    Broker,
    /// TLS to the broker.
    Tls,
    /// The pre-shared key.
    Security,
    /// The server side's own flags.
    Server,
    /// The client side's own flags.
    Client,
    /// `-l` and its companions.
    Listing,
    /// Windows, frame sizes, timeouts and limits.
    Tuning,
    /// How much is logged.
    Logging,
    /// Help and version (no title).
    Other,
}

impl Group {
    /// Every group, in help order.
    pub const ALL: [Group; 9] = [
        Group::Broker,
        Group::Tls,
        Group::Security,
        Group::Server,
        Group::Client,
        Group::Listing,
        Group::Tuning,
        Group::Logging,
        Group::Other,
    ];

    /// The title line of the group in the help text ("" for none).
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Group::Broker => "Broker (both sides)",
            Group::Tls => "TLS to the broker",
            Group::Security => "End-to-end security (both sides)",
            Group::Server => "Server side (-s)",
            Group::Client => "Client side (default)",
            Group::Listing => "Listing (-l)",
            Group::Tuning => "Tuning",
            Group::Logging => "Logging (stderr)",
            Group::Other => "",
        }
    }
}

/// One flag of the program.
pub struct Opt {
    /// The long name, with its dashes: `--port`.
    pub long: &'static str,
    /// The single-letter form, if any: `p` for `-p`.
    pub short: Option<char>,
    /// The value's name in the help text (`port` for `<port>`); empty for a
    /// switch, which takes no value.
    pub value: &'static str,
    /// The environment variable used when the flag is not given; empty for
    /// none.
    pub env: &'static str,
    /// More lines of the help's environment column under `env` (separated
    /// by newlines), say the values it takes.
    pub env_note: &'static str,
    /// The help rows: the group, and the text (wrapped lines separated by
    /// newlines). A flag that means different things per side has a row in
    /// each side's group.
    pub help: &'static [(Group, &'static str)],
}

impl Opt {
    /// Whether the flag takes a value (`--port 22`) rather than being a
    /// switch.
    #[must_use]
    pub const fn takes_value(&self) -> bool {
        !self.value.is_empty()
    }
}

/// A switch without short form or environment variable.
pub(super) const fn switch(long: &'static str, help: &'static [(Group, &'static str)]) -> Opt {
    Opt {
        long,
        short: None,
        value: "",
        env: "",
        env_note: "",
        help,
    }
}

/// A switch with a short form.
pub(super) const fn short_switch(
    long: &'static str,
    short: char,
    help: &'static [(Group, &'static str)],
) -> Opt {
    Opt {
        short: Some(short),
        ..switch(long, help)
    }
}

/// An option with a value and an environment variable, without short form.
pub(super) const fn valued(
    long: &'static str,
    value: &'static str,
    env: &'static str,
    help: &'static [(Group, &'static str)],
) -> Opt {
    Opt {
        long,
        short: None,
        value,
        env,
        env_note: "",
        help,
    }
}
