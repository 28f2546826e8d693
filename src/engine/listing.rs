//! What one sign-in reaches: every account (ListAccounts, every page) and every
//! account's roles (ListAccountRoles, every page), for `populate`.
//!
//! Pages of the account list come one after another (each names the next), and
//! the roles of the accounts already listed are asked for meanwhile, up to
//! `--concurrency` calls in flight. The portal throttles these reads by rate
//! (about 20 a second per user), so calls start at the pace of the
//! [`Pacer`]: a 429 is not an error but a call to make again, and the pace
//! follows what the portal admits. An account is never dropped for throttling:
//! only a portal that admits nothing at all for the stall budget ends the
//! listing, and the accounts left are then reported as not listed.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::aws::portal::{self, AccountInfo, ListError, Page};
use crate::engine::limiter::Pacer;
use crate::progress::Progress;
use crate::secret::Secret;

/// Items per page (the most the portal hands out).
const PAGE_SIZE: i32 = 100;

/// A call that failed for a passing reason (5xx, timeout, dropped connection)
/// is made this many more times, after 0.5 s, 1 s and 2 s.
const TRANSIENT_RETRIES: u32 = 3;

/// The pause before the first retry of a transient failure.
const TRANSIENT_PAUSE: Duration = Duration::from_millis(500);

pub struct ListSettings<'p> {
    /// Calls in flight at most.
    pub concurrency: usize,
    /// The listing stops when the portal, throttling, has admitted no call for this long.
    pub stall: Duration,
    /// Counts accounts: found (the total) and listed (done).
    pub progress: &'p Progress,
}

/// An account and the roles listed in it.
#[derive(Clone, Debug)]
pub struct ListedAccount {
    pub info: AccountInfo,
    /// Sorted, no duplicates.
    pub roles: Vec<String>,
    /// Why its roles could not all be listed; `roles` is then incomplete.
    pub problem: Option<String>,
}

/// Everything one sign-in reaches, as far as it could be listed.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Sorted by account id.
    pub accounts: Vec<ListedAccount>,
    /// Why the account list itself is incomplete, if it is.
    pub accounts_problem: Option<String>,
    /// Calls made, and how many of them came back throttled.
    pub calls: u64,
    pub throttled: u64,
    /// The slowest pace the portal's throttling set, in calls a second.
    pub lowest_rate: Option<f64>,
}

impl Listing {
    /// Whether every account and every account's roles were listed.
    pub fn is_complete(&self) -> bool {
        self.accounts_problem.is_none() && self.accounts.iter().all(|a| a.problem.is_none())
    }
}

/// Why a sign-in could not be listed at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFailure {
    /// The portal rejected the token (401): a login is needed.
    LoginRequired,
}

#[derive(Debug)]
enum Call {
    /// A page of the account list (the first one: no token).
    Accounts(Option<String>),
    /// A page of the roles of account number `.0` of the listing.
    Roles(usize, Option<String>),
}

#[derive(Debug)]
struct Queued {
    call: Call,
    /// Transient failures so far.
    failures: u32,
}

/// A call waiting out the pause after a transient failure.
struct Waiting {
    queued: Queued,
    ready: Instant,
}

enum Answer {
    Accounts(Page<AccountInfo>),
    Roles(Page<String>),
}

/// Lists every account `token` reaches through `client` (a client that makes one
/// attempt per call: the retries are made here), and each one's roles.
pub async fn list(
    client: &crate::aws::clients::SsoClient,
    token: &Secret,
    settings: &ListSettings<'_>,
) -> Result<Listing, ListFailure> {
    let progress = settings.progress;
    let mut listing = Listing::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<Queued> = VecDeque::from([Queued {
        call: Call::Accounts(None),
        failures: 0,
    }]);
    // Soonest first.
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut pacer = Pacer::new(Instant::now());
    let mut last_admitted = Instant::now();
    let concurrency = settings.concurrency.max(1);
    // Whether the account list, and each account's roles, are done (listed or given up).
    let mut accounts_finished = false;
    let mut finished: Vec<bool> = Vec::new();
    loop {
        let now = Instant::now();
        while waiting.first().is_some_and(|w| w.ready <= now) {
            queue.push_front(waiting.remove(0).queued);
        }
        while tasks.len() < concurrency && pacer.ready_at() <= now {
            let Some(queued) = queue.pop_front() else {
                break;
            };
            pacer.start(now);
            listing.calls += 1;
            let (client, token) = (client.clone(), token.clone());
            let account = match &queued.call {
                Call::Roles(n, _) => listing.accounts.get(*n).map(|a| a.info.account_id.clone()),
                Call::Accounts(_) => None,
            };
            tasks.spawn(async move {
                let answer = match (&queued.call, account) {
                    (Call::Accounts(next), _) => {
                        portal::list_accounts(&client, &token, PAGE_SIZE, next.clone())
                            .await
                            .map(Answer::Accounts)
                    }
                    (Call::Roles(_, next), Some(account)) => portal::list_account_roles(
                        &client,
                        &token,
                        &account,
                        PAGE_SIZE,
                        next.clone(),
                    )
                    .await
                    .map(Answer::Roles),
                    (Call::Roles(..), None) => {
                        Err(ListError::Failed("internal: no such account".into()))
                    }
                };
                (queued, answer)
            });
        }
        let stalled =
            pacer.throttled > 0 && now.saturating_duration_since(last_admitted) > settings.stall;
        if stalled {
            let why = format!(
                "the portal kept throttling: it admitted no call for {}s; try again later, or lower --concurrency",
                settings.stall.as_secs()
            );
            // Whatever is queued, waiting or in flight (dropped with `tasks`)
            // is left unfinished, and marked so below.
            if !accounts_finished {
                listing
                    .accounts_problem
                    .get_or_insert_with(|| format!("cannot list the accounts: {why}"));
            }
            for (account, done) in listing.accounts.iter_mut().zip(&finished) {
                if !done {
                    account
                        .problem
                        .get_or_insert_with(|| format!("cannot list its roles: {why}"));
                }
            }
            break;
        }
        // What to wake for besides a finished call: the next start the pace
        // allows, or the end of a pause.
        let mut wake = (!queue.is_empty() && tasks.len() < concurrency).then(|| pacer.ready_at());
        if let Some(w) = waiting.first() {
            wake = Some(wake.map_or(w.ready, |t| t.min(w.ready)));
        }
        if tasks.is_empty() {
            match wake {
                Some(at) => {
                    // Nothing in flight: sleeping is all there is to do, but wake
                    // for the stall check too.
                    let stall_at = last_admitted + settings.stall + Duration::from_millis(1);
                    let at = if pacer.throttled > 0 {
                        at.min(stall_at)
                    } else {
                        at
                    };
                    tokio::time::sleep_until(at.into()).await;
                    continue;
                }
                None => break,
            }
        }
        let joined = match wake {
            Some(at) => match tokio::time::timeout_at(at.into(), tasks.join_next()).await {
                Ok(joined) => joined,
                Err(_) => continue,
            },
            None => tasks.join_next().await,
        };
        let Some(Ok((queued, answer))) = joined else {
            continue;
        };
        let now = Instant::now();
        match answer {
            Err(ListError::Throttled) => {
                pacer.throttled(now);
                queue.push_front(queued);
            }
            Err(ListError::LoginRequired) => return Err(ListFailure::LoginRequired),
            Err(ListError::Transient(why)) if queued.failures < TRANSIENT_RETRIES => {
                pacer.admitted(now);
                last_admitted = now;
                let ready = now + TRANSIENT_PAUSE * 2u32.pow(queued.failures);
                let at = waiting.partition_point(|w| w.ready <= ready);
                tracing::debug!(call = ?queued.call, %why, "asking again after a passing failure");
                waiting.insert(
                    at,
                    Waiting {
                        queued: Queued {
                            call: queued.call,
                            failures: queued.failures + 1,
                        },
                        ready,
                    },
                );
            }
            Err(ListError::Transient(why) | ListError::Failed(why) | ListError::NoAccess(why)) => {
                pacer.admitted(now);
                last_admitted = now;
                match queued.call {
                    Call::Accounts(_) => {
                        accounts_finished = true;
                        listing
                            .accounts_problem
                            .get_or_insert_with(|| format!("cannot list the accounts: {why}"));
                    }
                    Call::Roles(n, _) => {
                        if let Some(account) = listing.accounts.get_mut(n) {
                            account
                                .problem
                                .get_or_insert_with(|| format!("cannot list its roles: {why}"));
                        }
                        if let Some(done) = finished.get_mut(n) {
                            *done = true;
                        }
                        progress.advance(1);
                    }
                }
            }
            Ok(Answer::Accounts(page)) => {
                pacer.admitted(now);
                last_admitted = now;
                match page.next_token {
                    Some(next) => queue.push_front(Queued {
                        call: Call::Accounts(Some(next)),
                        failures: 0,
                    }),
                    None => accounts_finished = true,
                }
                let mut found = 0;
                for info in page.items {
                    if !seen.insert(info.account_id.clone()) {
                        continue;
                    }
                    queue.push_back(Queued {
                        call: Call::Roles(listing.accounts.len(), None),
                        failures: 0,
                    });
                    listing.accounts.push(ListedAccount {
                        info,
                        roles: Vec::new(),
                        problem: None,
                    });
                    finished.push(false);
                    found += 1;
                }
                progress.add_total(found);
            }
            Ok(Answer::Roles(page)) => {
                pacer.admitted(now);
                last_admitted = now;
                let Call::Roles(n, _) = queued.call else {
                    continue;
                };
                if let Some(account) = listing.accounts.get_mut(n) {
                    account.roles.extend(page.items);
                }
                match page.next_token {
                    Some(next) => queue.push_front(Queued {
                        call: Call::Roles(n, Some(next)),
                        failures: 0,
                    }),
                    None => {
                        if let Some(done) = finished.get_mut(n) {
                            *done = true;
                        }
                        progress.advance(1);
                    }
                }
            }
        }
    }
    // A call that never came back (its task failed) leaves its account unfinished:
    // incomplete, never taken for complete.
    if !accounts_finished {
        listing
            .accounts_problem
            .get_or_insert_with(|| "cannot list the accounts: a call did not finish".into());
    }
    for (account, done) in listing.accounts.iter_mut().zip(&finished) {
        if !done {
            account
                .problem
                .get_or_insert_with(|| "cannot list its roles: a call did not finish".into());
        }
    }
    listing.throttled = pacer.throttled;
    listing.lowest_rate = pacer.lowest;
    for account in &mut listing.accounts {
        account.roles.sort_unstable();
        account.roles.dedup();
    }
    listing
        .accounts
        .sort_by(|a, b| a.info.account_id.cmp(&b.info.account_id));
    Ok(listing)
}
