//! A scraper pipeline (seed 000's suggested exercise): a dispatcher hands URLs to a pool of
//! fetchers, which pass pages to one parser, which passes documents to one indexer.
//!
//! Fetching is slow and parallel (simulated latency, no network), parsing and indexing are
//! fast and serial: each stage is a process, connected by casts, so in the observer the
//! message rates flow left to right and each stage's busy time says where the time goes.
//! The subtree is `rest_for_one`: if the indexer dies, everything upstream of it restarts too,
//! so no stage keeps sending to a stale peer.

use super::work;
use crate::load::{Rng, Wave};
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{Ctx, GenServer, Info, InitError, Next, StateSize};
use std::collections::HashMap;
use std::time::Duration;

/// Fetchers in the pool.
pub const FETCHERS: usize = 4;
/// The parser's registered name.
pub const PARSER: &str = "scraper/parser";
/// The indexer's registered name.
pub const INDEXER: &str = "scraper/indexer";

/// A fetcher's registered name.
pub fn fetcher_name(i: usize) -> String {
    format!("scraper/fetcher-{i}")
}

const WORDS: &[&str] = &[
    "actor",
    "mailbox",
    "supervisor",
    "restart",
    "process",
    "message",
    "tokio",
    "beam",
    "erlang",
    "elixir",
    "rust",
    "state",
    "call",
    "cast",
    "timeout",
    "link",
    "monitor",
    "registry",
    "agent",
    "task",
    "observer",
    "deadlock",
    "bottleneck",
    "overflow",
    "leak",
    "queue",
    "cache",
    "bank",
    "contract",
    "session",
];

/// A fetcher: takes a URL, waits for the "network", hands the page to the parser.
pub struct Fetcher {
    rng: Rng,
    fetched: u64,
}

/// Work for a fetcher.
#[derive(Debug)]
pub struct Fetch(pub String);

impl GenServer for Fetcher {
    type Args = u64;
    type Call = ();
    type Reply = ();
    type Cast = Fetch;
    type Info = ();

    async fn init(seed: u64, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Fetcher {
            rng: Rng::new(seed),
            fetched: 0,
        })
    }

    async fn handle_cast(&mut self, Fetch(url): Fetch, ctx: &mut Ctx<Self>) -> Next {
        // The "network": 40 to 160 ms.
        work(Duration::from_millis(self.rng.between(40, 160))).await;
        self.fetched += 1;
        let words = (0..self.rng.between(20, 60))
            .map(|_| WORDS[self.rng.below(WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(parser) = ctx.runtime().whereis::<Parser>(PARSER) {
            let _ = parser
                .cast(Page {
                    url,
                    html: format!("<html><body>{words}</body></html>"),
                })
                .await;
        }
        Next::noreply()
    }
}

/// A fetched page.
#[derive(Debug)]
pub struct Page {
    /// Where it came from.
    pub url: String,
    /// Its body.
    pub html: String,
}

/// The parser: strips markup and splits words.
pub struct Parser {
    parsed: u64,
}

impl GenServer for Parser {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = Page;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Parser { parsed: 0 })
    }

    async fn handle_cast(&mut self, page: Page, ctx: &mut Ctx<Self>) -> Next {
        work(Duration::from_millis(3)).await;
        let text = page
            .html
            .trim_start_matches("<html><body>")
            .trim_end_matches("</body></html>");
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        self.parsed += 1;
        if let Some(indexer) = ctx.runtime().whereis::<Indexer>(INDEXER) {
            let _ = indexer
                .cast(Doc {
                    url: page.url,
                    words,
                })
                .await;
        }
        Next::noreply()
    }
}

/// A parsed document.
#[derive(Debug)]
pub struct Doc {
    /// Where it came from.
    pub url: String,
    /// Its words.
    pub words: Vec<String>,
}

/// The indexer: counts words per term and remembers the last documents.
pub struct Indexer {
    terms: HashMap<String, u64>,
    docs: u64,
    last: Vec<String>,
}

impl GenServer for Indexer {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = Doc;
    type Info = ();

    const INSPECTABLE: bool = true;

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Indexer {
            terms: HashMap::new(),
            docs: 0,
            last: Vec::new(),
        })
    }

    async fn handle_cast(&mut self, doc: Doc, _ctx: &mut Ctx<Self>) -> Next {
        work(Duration::from_millis(2)).await;
        for w in doc.words {
            *self.terms.entry(w).or_default() += 1;
        }
        self.docs += 1;
        if self.last.len() == 8 {
            self.last.remove(0);
        }
        self.last.push(doc.url);
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        let heap = self.terms.capacity() * std::mem::size_of::<(String, u64)>()
            + self.terms.keys().map(String::capacity).sum::<usize>()
            + self.last.iter().map(|s| s.capacity() + 24).sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        let mut top: Vec<_> = self.terms.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(8)
            .map(|(t, n)| format!("{t}={n}"))
            .collect();
        format!(
            "documents: {}\nterms: {}\ntop: {}\nlast: {}",
            self.docs,
            self.terms.len(),
            top.join(" "),
            self.last.join(" ")
        )
    }
}

/// The dispatcher: makes up URLs as the wave says and hands them to fetchers in turn.
pub struct Dispatcher {
    wave: Wave,
    rng: Rng,
    next: usize,
    seq: u64,
}

/// The dispatcher's tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for Dispatcher {
    type Args = Wave;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(wave: Wave, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(200));
        Ok(Dispatcher {
            wave,
            rng: Rng::new(5),
            next: 0,
            seq: 0,
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) {
            return Next::noreply();
        }
        for _ in 0..self.wave.ops(4.0, &mut self.rng) {
            self.seq += 1;
            let url = format!("https://example.test/{}", self.seq);
            self.next = (self.next + 1) % FETCHERS;
            if let Some(f) = ctx.runtime().whereis::<Fetcher>(fetcher_name(self.next)) {
                let _ = f.cast(Fetch(url)).await;
            }
        }
        Next::noreply()
    }
}

/// The pipeline's subtree: `scraper` (rest_for_one) -> `scraper/indexer`, `scraper/parser`,
/// `scraper/fetchers` (one_for_one pool) -> `scraper/fetcher-N`, `scraper/dispatcher`.
pub fn child_spec(wave: Wave) -> ChildSpec {
    let mut pool = SupervisorSpec::new(Strategy::OneForOne).name("scraper/fetchers");
    for i in 0..FETCHERS {
        pool = pool.child(
            ChildSpec::worker::<Fetcher>(fetcher_name(i), 100 + i as u64).name(fetcher_name(i)),
        );
    }
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .name("scraper")
        .child(ChildSpec::worker::<Indexer>(INDEXER, ()).name(INDEXER))
        .child(ChildSpec::worker::<Parser>(PARSER, ()).name(PARSER))
        .child(ChildSpec::supervisor("scraper/fetchers", pool))
        .child(
            ChildSpec::worker::<Dispatcher>("scraper/dispatcher", wave).name("scraper/dispatcher"),
        );
    ChildSpec::supervisor("scraper", spec)
}
