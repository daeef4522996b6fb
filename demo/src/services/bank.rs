//! The bank of seed 001: one process per account, and every transfer through one server.
//!
//! The teller (`bank/teller`) is the serialisation point the seed praises: a transfer is a
//! withdrawal then a deposit, and because only the teller does transfers, nobody observes money
//! in flight or two transfers interleaved. Accounts are children of a dynamic supervisor
//! (`bank/accounts`) and registered as `accounts/<id>`; customers open and close accounts as
//! they go, so the tree changes while you watch.
//!
//! Tree: `bank` (one_for_one) -> `bank/accounts` (dynamic) -> `accounts/N`, `bank/teller`,
//! `bank/customers` (the load).

use super::{limiter, notifications, work};
use crate::load::{Rng, Wave};
use beamline::supervisor::{ChildSpec, DynamicSupervisor, Restart, Strategy, SupervisorSpec};
use beamline::{CallError, CallReply, Ctx, GenServer, Info, InitError, Name, Next, StateSize};
use std::collections::VecDeque;
use std::time::Duration;

/// The teller's registered name.
pub const TELLER: &str = "bank/teller";
/// The accounts' dynamic supervisor.
pub const ACCOUNTS: &str = "bank/accounts";
/// The registry accounts are registered in.
pub const REGISTRY: &str = "accounts";
/// Accounts the bank opens with.
pub const BASE_ACCOUNTS: u32 = 12;
/// Accounts at most (customers stop opening new ones beyond this).
pub const MAX_ACCOUNTS: usize = 24;
/// Ledger lines each account keeps.
const HISTORY: usize = 64;

/// An account's name in the registry.
pub fn account_name(id: u32) -> Name {
    Name::via(REGISTRY, id)
}

/// One account.
pub struct Account {
    id: u32,
    balance: u64,
    history: VecDeque<String>,
}

/// Requests to an account (only the teller sends them).
#[derive(Debug)]
pub enum AccountCall {
    /// The balance.
    Balance,
    /// Take money out, if there is enough.
    Withdraw(u64),
    /// Put money in.
    Deposit(u64),
}

/// Answers from an account.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountReply {
    /// The balance after the operation.
    Balance(u64),
    /// Not enough money: the balance.
    Insufficient(u64),
}

impl GenServer for Account {
    type Args = (u32, u64);
    type Call = AccountCall;
    type Reply = AccountReply;
    type Cast = ();
    type Info = ();

    const INSPECTABLE: bool = true;
    // Names for the observer's messages-by-type table (`AccountCall::Withdraw`, not `#1`).
    const MESSAGE_VARIANTS: beamline::VariantNames = beamline::VariantNames {
        call: &["Balance", "Withdraw", "Deposit"],
        ..beamline::VariantNames::NONE
    };

    /// Amounts are not secret here: queued requests show as their `Debug` text (`Q` in Detail).
    fn format_message(msg: beamline::Message<'_, Self>) -> Option<String> {
        match msg {
            beamline::Message::Call(c) => Some(format!("{c:?}")),
            _ => None,
        }
    }

    async fn init((id, opening): (u32, u64), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Account {
            id,
            balance: opening,
            history: VecDeque::from([format!("opened with {opening}")]),
        })
    }

    async fn handle_call(
        &mut self,
        msg: AccountCall,
        _ctx: &mut Ctx<Self>,
    ) -> CallReply<AccountReply> {
        // A ledger write: a little latency per operation.
        work(Duration::from_millis(1)).await;
        let (line, reply) = match msg {
            AccountCall::Balance => return CallReply::reply(AccountReply::Balance(self.balance)),
            AccountCall::Withdraw(n) if n > self.balance => {
                return CallReply::reply(AccountReply::Insufficient(self.balance));
            }
            AccountCall::Withdraw(n) => {
                self.balance -= n;
                (format!("-{n}"), AccountReply::Balance(self.balance))
            }
            AccountCall::Deposit(n) => {
                self.balance += n;
                (format!("+{n}"), AccountReply::Balance(self.balance))
            }
        };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(line);
        CallReply::reply(reply)
    }

    fn state_size(&self) -> StateSize {
        let heap = self.history.capacity() * std::mem::size_of::<String>()
            + self.history.iter().map(String::capacity).sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        let recent: Vec<&str> = self
            .history
            .iter()
            .rev()
            .take(8)
            .map(String::as_str)
            .collect();
        format!(
            "account {}\nbalance: {}\nrecent: {}",
            self.id,
            self.balance,
            recent.join(" ")
        )
    }
}

/// The teller: the one server transfers go through.
pub struct Teller {
    next_id: u32,
    transfers: u64,
    refused: u64,
}

/// Requests to the teller.
#[derive(Debug)]
pub enum TellerCall {
    /// Move `amount` from one account to another, atomically.
    Transfer {
        /// Debited account.
        from: u32,
        /// Credited account.
        to: u32,
        /// How much.
        amount: u64,
    },
    /// Open an account; answers its id.
    Open(u64),
    /// Close an account (its balance is paid out).
    Close(u32),
    /// The sum of all balances (constant under transfers: the invariant the teller keeps).
    Total,
    /// The accounts now open.
    Accounts,
}

/// Answers from the teller.
#[derive(Debug, PartialEq, Eq)]
pub enum TellerReply {
    /// Done.
    Ok,
    /// A new account's id.
    Opened(u32),
    /// Refused, with why.
    Refused(String),
    /// An amount of money.
    Amount(u64),
    /// Account ids.
    Ids(Vec<u32>),
}

impl Teller {
    async fn account_call(
        ctx: &Ctx<Self>,
        id: u32,
        msg: AccountCall,
    ) -> Result<AccountReply, CallError> {
        ctx.runtime().call::<Account>(account_name(id), msg).await
    }

    async fn transfer(&mut self, ctx: &Ctx<Self>, from: u32, to: u32, amount: u64) -> TellerReply {
        if from == to {
            return TellerReply::Refused("same account".into());
        }
        match Self::account_call(ctx, from, AccountCall::Withdraw(amount)).await {
            Ok(AccountReply::Balance(_)) => {}
            Ok(AccountReply::Insufficient(b)) => {
                self.refused += 1;
                return TellerReply::Refused(format!("insufficient funds ({b})"));
            }
            Err(e) => return TellerReply::Refused(format!("account {from}: {e}")),
        }
        if let Err(e) = Self::account_call(ctx, to, AccountCall::Deposit(amount)).await {
            // Put the money back: the transfer did not happen.
            let _ = Self::account_call(ctx, from, AccountCall::Deposit(amount)).await;
            return TellerReply::Refused(format!("account {to}: {e}"));
        }
        self.transfers += 1;
        if amount >= 500 {
            notifications::notify(
                ctx.runtime(),
                format!("customer-{from}"),
                format!("large transfer of {amount} to account {to}"),
            );
        }
        TellerReply::Ok
    }

    fn open_ids(ctx: &Ctx<Self>) -> Vec<u32> {
        let mut ids: Vec<u32> = ctx
            .runtime()
            .registered_keys(REGISTRY)
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    }
}

impl GenServer for Teller {
    type Args = ();
    type Call = TellerCall;
    type Reply = TellerReply;
    type Cast = ();
    type Info = ();

    const INSPECTABLE: bool = true;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        let mut teller = Teller {
            next_id: 1,
            transfers: 0,
            refused: 0,
        };
        // After a restart the accounts are still there (they are the accounts supervisor's
        // children, not ours): carry on numbering after them.
        teller.next_id = Self::open_ids(ctx).last().map_or(1, |m| m + 1);
        Ok(teller)
    }

    async fn handle_call(
        &mut self,
        msg: TellerCall,
        ctx: &mut Ctx<Self>,
    ) -> CallReply<TellerReply> {
        let reply = match msg {
            TellerCall::Transfer { from, to, amount } => self.transfer(ctx, from, to, amount).await,
            TellerCall::Open(deposit) => {
                let Some(sup) = DynamicSupervisor::whereis(ctx.runtime(), ACCOUNTS) else {
                    return CallReply::reply(TellerReply::Refused("accounts are down".into()));
                };
                let id = self.next_id;
                self.next_id += 1;
                let spec = ChildSpec::worker::<Account>(format!("account-{id}"), (id, deposit))
                    .name(account_name(id))
                    .restart(Restart::Transient);
                match sup.start_child(spec).await {
                    Ok(_) => TellerReply::Opened(id),
                    Err(e) => TellerReply::Refused(e.to_string()),
                }
            }
            TellerCall::Close(id) => {
                let (Some(sup), Some(acc)) = (
                    DynamicSupervisor::whereis(ctx.runtime(), ACCOUNTS),
                    ctx.runtime().whereis::<Account>(account_name(id)),
                ) else {
                    return CallReply::reply(TellerReply::Refused(format!("no account {id}")));
                };
                match sup.terminate_child(acc.pid()).await {
                    Ok(()) => TellerReply::Ok,
                    Err(e) => TellerReply::Refused(e.to_string()),
                }
            }
            TellerCall::Total => {
                let mut total = 0;
                for id in Self::open_ids(ctx) {
                    if let Ok(AccountReply::Balance(b)) =
                        Self::account_call(ctx, id, AccountCall::Balance).await
                    {
                        total += b;
                    }
                }
                TellerReply::Amount(total)
            }
            TellerCall::Accounts => TellerReply::Ids(Self::open_ids(ctx)),
        };
        CallReply::reply(reply)
    }

    fn inspect(&self) -> String {
        format!(
            "transfers: {}\nrefused: {}\nnext account id: {}",
            self.transfers, self.refused, self.next_id
        )
    }
}

/// The bank's customers: the load. Every tick they make a few transfers (as many as the wave
/// says, if the rate limiter agrees) and now and then open or close an account.
pub struct Customers {
    wave: Wave,
    rng: Rng,
}

/// The customers' tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for Customers {
    type Args = Wave;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(wave: Wave, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(200));
        Ok(Customers {
            wave,
            rng: Rng::new(1),
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) {
            return Next::noreply();
        }
        let rt = ctx.runtime().clone();
        let Ok(TellerReply::Ids(ids)) = rt.call::<Teller>(TELLER, TellerCall::Accounts).await
        else {
            return Next::noreply();
        };
        if ids.len() < BASE_ACCOUNTS as usize {
            let _ = rt.call::<Teller>(TELLER, TellerCall::Open(1_000)).await;
            return Next::noreply();
        }
        for _ in 0..self.wave.ops(5.0, &mut self.rng) {
            if !limiter::acquire(&rt, "bank").await {
                continue;
            }
            let from = ids[self.rng.below(ids.len() as u64) as usize];
            let to = ids[self.rng.below(ids.len() as u64) as usize];
            let amount = self.rng.between(1, 600);
            let _ = rt
                .call::<Teller>(TELLER, TellerCall::Transfer { from, to, amount })
                .await;
        }
        // Accounts come and go: a customer joins now and then, and a recent one leaves.
        if self.rng.chance(0.05) && ids.len() < MAX_ACCOUNTS {
            let _ = rt.call::<Teller>(TELLER, TellerCall::Open(500)).await;
        } else if self.rng.chance(0.04) && ids.len() > BASE_ACCOUNTS as usize {
            let id = ids[ids.len() - 1 - self.rng.below(3).min(ids.len() as u64 - 1) as usize];
            let _ = rt.call::<Teller>(TELLER, TellerCall::Close(id)).await;
        }
        Next::noreply()
    }
}

/// The bank's subtree.
pub fn child_spec(wave: Wave) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .intensity(5, Duration::from_secs(30))
        .child(super::entities(ACCOUNTS, MAX_ACCOUNTS + 4))
        .child(super::named::<Teller>(TELLER, ()))
        .child(super::named::<Customers>("bank/customers", wave));
    ChildSpec::supervisor("bank", spec.name("bank"))
}
