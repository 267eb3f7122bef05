//! The spanned syntax tree of a `.ipvs` file. Values stay text; the compiler types them.

use crate::source::Span;

/// A word or literal as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub span: Span,
}

/// A literal, or a `$constant` (its name in `text`, without the `$`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub variable: bool,
    pub span: Span,
}

impl Value {
    /// The value as written: `$name` or the literal.
    pub fn source(&self) -> String {
        if self.variable {
            format!("${}", self.text)
        } else {
            self.text.clone()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// `define NAME = VALUE`
    Define { name: Text, value: Text },
    /// `include "PATH"`
    Include { path: Text },
    /// `drain DURATION|off`: the file's default for servers that leave it.
    Drain(Value),
    /// `timeouts { ... }`
    Timeouts(Block),
    /// `defense { ... }`
    Defense(Block),
    /// `sysctl { ... }`
    Sysctl(Block),
    /// `sync STATE { ... }`
    Sync { state: Value, block: Block },
    /// `service KEY { ... }`
    Service(Box<ServiceDecl>),
    /// A word that starts no known statement.
    Unknown { word: Text },
}

/// `{ name arg...; ... }`: the settings of timeouts, defense, sysctl and sync blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub settings: Vec<Setting>,
    /// Whether it was written on one line.
    pub one_line: bool,
    pub close: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub name: Text,
    pub args: Vec<Value>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceKeyDecl {
    /// `fwmark MARK [ipv6]`
    Fwmark { mark: Value, family: Option<Text> },
    /// `PROTOCOL ENDPOINT`
    Inet { protocol: Text, endpoint: Endpoint },
}

/// `HOST[-HOST][:PORT]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Value,
    pub range_end: Option<Value>,
    pub port: Option<Value>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDecl {
    pub key: ServiceKeyDecl,
    pub head: Span,
    pub stmts: Vec<Stmt>,
    pub one_line: bool,
    pub close: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `scheduler NAME [FLAG...]`
    Scheduler { name: Text, flags: Vec<Text> },
    /// `persistent [TIMEOUT] [netmask MASK]`
    Persistent {
        timeout: Option<Value>,
        netmask: Option<Value>,
    },
    /// `netmask MASK`
    Netmask(Value),
    /// `pe NAME`
    Pe(Text),
    /// `one-packet`
    OnePacket,
    /// `forward METHOD`
    Forward(ForwardDecl),
    /// `weight N`
    Weight(Value),
    /// `upper N`
    Upper(Value),
    /// `lower N`
    Lower(Value),
    /// `server ADDR [options]`
    Server(ServerDecl),
    /// `drain DURATION|off`: how this service's servers leave.
    Drain(Value),
    /// A word that starts no known statement or option, and what followed it.
    Unknown { word: Text, args: Vec<Text> },
}

/// `dr`, `nat`, or `tunnel [ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardDecl {
    pub method: Text,
    pub tunnel: Vec<TunnelWord>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelWord {
    Word(Text),
    Port { keyword: Span, port: Value },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerDecl {
    pub addr: Endpoint,
    /// Forward, weight, upper, lower (or unknown) statements written on the server's line.
    pub options: Vec<Stmt>,
}
