//! What a scan holds: for each part (a region, and one of the listing's requests there), the
//! pages fetched so far and the token of the next one. Front ends read rows one at a time
//! ([`ScanData::next_row`]), converting only the current one; when a part needs its next page,
//! the front end blocks on [`crate::scan::Fetch::more`] and reads on. A listing that holds more
//! than [`HELD_LIMIT`] lets its pages go as they are read, so memory stays bounded however many
//! pages it has.
//!
//! Rows come part by part; with [`ScanData::set_ordered`], merged across parts in the table's
//! declared order (each part's rows already come in that order). A table that declares a unique
//! column shows an object listed by several parts once.

use crate::listing::{Page, Params};
use crate::table::{ColumnDef, RowSource, TableDef, Value};
use alicloud_api::{Items, JsonObject};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Pages held beyond this many bytes are let go once read (the statement snapshot and the cache
/// keep only listings within it).
pub const HELD_LIMIT: usize = 16 * 1024 * 1024;

/// One part of a scan: a region and one request of the listing there.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) region: String,
    pub(crate) request: Params,
    /// The pages in order; `None` for one let go.
    pub(crate) pages: Vec<Option<Items>>,
    /// The next row: page and item.
    page: usize,
    item: usize,
    /// The token of the next page to fetch; `None` when the listing is complete.
    pub(crate) next: Option<String>,
    /// Every token received, to tell a repeated one (a loop) from a new one.
    pub(crate) tokens: HashSet<String>,
    /// The member account whose connection listed it (an index of [`ScanData::members`]);
    /// `None` on a server without members.
    pub(crate) member: Option<usize>,
}

impl Part {
    pub(crate) fn new(region: String, request: Params, first: Page) -> Part {
        let mut tokens = HashSet::new();
        tokens.extend(first.next.clone());
        Part {
            region,
            request,
            pages: vec![Some(first.items)],
            page: 0,
            item: 0,
            next: first.next,
            tokens,
            member: None,
        }
    }

    /// A part whose listing is held whole.
    pub(crate) fn complete(region: String, request: Params, pages: Vec<Items>) -> Part {
        Part {
            region,
            request,
            pages: pages.into_iter().map(Some).collect(),
            page: 0,
            item: 0,
            next: None,
            tokens: HashSet::new(),
            member: None,
        }
    }

    /// The pages, when every one is still held.
    pub(crate) fn whole(&self) -> Option<Vec<Items>> {
        self.pages.iter().cloned().collect()
    }

    fn bytes(&self) -> usize {
        self.pages.iter().flatten().map(|p| p.body().len()).sum()
    }
}

/// Where a part's next row is.
enum At {
    Row(usize, usize),
    NeedsPage,
    Exhausted,
}

/// What the next row of a scan is.
pub enum Next<'d> {
    /// A row.
    Row(Row<'d>),
    /// A part needs its next page first: call [`crate::scan::Fetch::more`] and ask again.
    More,
    /// No more rows.
    End,
    /// The parts' rows did not come in the declared order, so an ordered scan cannot go on.
    OutOfOrder {
        /// The region that listed a row out of order.
        region: String,
    },
}

/// One row: the listed object's JSON text, the region that listed it, the account id, the
/// connection's name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'d> {
    /// The object's JSON text.
    pub raw: &'d str,
    /// The region that listed it.
    pub region: &'d str,
    /// The account id, when a column needs it.
    pub account_id: Option<&'d str>,
    /// The name of the connection that scanned it.
    pub connection_name: &'d str,
}

impl<'d> Row<'d> {
    /// The object, its members split (once per row, for every column read).
    pub fn object(&self) -> JsonObject<'d> {
        JsonObject::parse(self.raw)
    }

    /// The value of `column`, from `object` (this row's [`Row::object`]).
    pub fn value<'r>(&'r self, object: &'r JsonObject<'d>, column: &ColumnDef) -> Value<'r> {
        (column.value)(&RowSource {
            item: object,
            region: self.region,
            account_id: self.account_id,
            connection_name: self.connection_name,
        })
    }
}

/// A value to order rows by; nulls come first in descending order (PostgreSQL's default for
/// `DESC`), last in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Null,
    Value(String),
}

impl Key {
    /// How `self` compares with `other` in the output: `Less` when it comes first.
    fn cmp_in(&self, descending: bool, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Null, Key::Null) => Ordering::Equal,
            (Key::Null, _) if descending => Ordering::Less,
            (Key::Null, _) => Ordering::Greater,
            (_, Key::Null) if descending => Ordering::Greater,
            (_, Key::Null) => Ordering::Less,
            (a, b) if descending => b.cmp(a),
            (a, b) => a.cmp(b),
        }
    }

    fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            // RFC 3339 in UTC with a fixed width sorts as the instants do.
            Value::Timestamp(t) => Key::Value(t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()),
            other => Key::Value(other.to_text().into_owned()),
        }
    }
}

/// A member a scan listed: the name and account id of its rows.
#[derive(Debug, Clone)]
pub struct Member {
    /// `<server>.<account id>` for a member account; a member server's name.
    pub name: String,
    /// Its account id.
    pub account_id: String,
}

/// Everything a scan obtained (see the module docs).
#[derive(Debug)]
pub struct ScanData {
    pub(crate) table: &'static TableDef,
    pub(crate) parts: Vec<Part>,
    /// The account id of the credentials, when a column needs it.
    pub account_id: Option<String>,
    /// The name of the connection that scanned.
    pub connection_name: String,
    /// The member accounts listed, on a server with members.
    pub members: Vec<Member>,
    /// The part read now (rows part by part).
    current: usize,
    /// Rows merged across parts in the table's order.
    ordered: bool,
    /// The order key of the last row returned (ordered scans).
    last: Option<Key>,
    /// The part whose next page is needed.
    pub(crate) wanting: Option<usize>,
    /// The unique keys of the rows returned.
    seen: HashSet<String>,
    /// Some page was let go: reading the rows again needs a new scan.
    dropped: bool,
}

impl ScanData {
    pub(crate) fn new(table: &'static TableDef, parts: Vec<Part>) -> ScanData {
        ScanData {
            table,
            parts,
            account_id: None,
            connection_name: String::new(),
            members: Vec::new(),
            current: 0,
            ordered: false,
            last: None,
            wanting: None,
            seen: HashSet::new(),
            dropped: false,
        }
    }

    /// Rows held now (in the pages not let go).
    pub fn row_count(&self) -> usize {
        self.parts
            .iter()
            .flat_map(|p| p.pages.iter().flatten())
            .map(Items::len)
            .sum()
    }

    /// Merges the rows of all parts in the table's declared order (`false`: part by part).
    /// Ignored for a table that declares none.
    pub fn set_ordered(&mut self, ordered: bool) {
        self.ordered = ordered && self.table.order.is_some();
    }

    /// Back to the first row. `false` when that cannot be done with what is held (pages were
    /// let go): the front end then scans again.
    pub fn rewind(&mut self) -> bool {
        if self.dropped {
            return false;
        }
        for p in &mut self.parts {
            p.page = 0;
            p.item = 0;
        }
        self.current = 0;
        self.last = None;
        self.seen.clear();
        true
    }

    /// Moves part `p` past its exhausted pages (letting them go when the part holds more than
    /// [`HELD_LIMIT`]) and says where its next row is.
    fn settle(&mut self, p: usize) -> At {
        let part = &mut self.parts[p];
        loop {
            match part.pages.get(part.page) {
                Some(Some(items)) if part.item < items.len() => {
                    return At::Row(part.page, part.item)
                }
                Some(_) => {
                    if part.bytes() > HELD_LIMIT && part.pages[part.page].take().is_some() {
                        self.dropped = true;
                    }
                    part.page += 1;
                    part.item = 0;
                }
                None if part.next.is_some() => return At::NeedsPage,
                None => return At::Exhausted,
            }
        }
    }

    fn row(&self, p: usize, page: usize, item: usize) -> Row<'_> {
        let part = &self.parts[p];
        let items = part.pages[page].as_ref().expect("a settled page is held");
        let member = part.member.and_then(|m| self.members.get(m));
        Row {
            raw: items.raw(item),
            region: &part.region,
            account_id: match member {
                Some(m) => Some(&m.account_id),
                None => self.account_id.as_deref(),
            },
            connection_name: member.map_or(&self.connection_name, |m| &m.name),
        }
    }

    fn value_key(&self, p: usize, page: usize, item: usize, column: usize) -> Key {
        let row = self.row(p, page, item);
        let object = row.object();
        Key::of(&row.value(&object, &self.table.columns[column]))
    }

    /// Whether a row at `(p, page, item)` was returned already (by its unique column), else
    /// remembers it.
    fn repeated(&mut self, p: usize, page: usize, item: usize) -> bool {
        let Some(column) = self.table.unique else {
            return false;
        };
        match self.value_key(p, page, item, column) {
            Key::Null => false,
            Key::Value(v) => !self.seen.insert(v),
        }
    }

    /// The next row (see [`Next`]).
    pub fn next_row(&mut self) -> Next<'_> {
        loop {
            let (p, page, item) = if self.ordered {
                match self.next_in_order() {
                    Ok(Some(at)) => at,
                    Ok(None) => return Next::End,
                    Err(next) => return next,
                }
            } else {
                let Some(p) = (self.current < self.parts.len()).then_some(self.current) else {
                    return Next::End;
                };
                match self.settle(p) {
                    At::Exhausted => {
                        self.current += 1;
                        continue;
                    }
                    At::NeedsPage => {
                        self.wanting = Some(p);
                        return Next::More;
                    }
                    At::Row(page, item) => (p, page, item),
                }
            };
            self.parts[p].item = item + 1;
            if self.repeated(p, page, item) {
                continue;
            }
            return Next::Row(self.row(p, page, item));
        }
    }

    /// The part whose head row comes first in the table's order; `Err` with what to return when
    /// a part needs a page first or the order is broken.
    fn next_in_order(&mut self) -> Result<Option<(usize, usize, usize)>, Next<'static>> {
        let order = self.table.order.expect("ordered scans have an order");
        let mut best: Option<(Key, usize, usize, usize)> = None;
        for p in 0..self.parts.len() {
            let (page, item) = match self.settle(p) {
                At::Exhausted => continue,
                At::NeedsPage => {
                    self.wanting = Some(p);
                    return Err(Next::More);
                }
                At::Row(page, item) => (page, item),
            };
            let key = self.value_key(p, page, item, order.column);
            if best
                .as_ref()
                .is_none_or(|(k, ..)| key.cmp_in(order.descending, k) == Ordering::Less)
            {
                best = Some((key, p, page, item));
            }
        }
        let Some((key, p, page, item)) = best else {
            return Ok(None);
        };
        // Each part comes in order, so the merged rows do too; a row that would come before the
        // last one returned means a part did not.
        if let Some(last) = &self.last {
            if key.cmp_in(order.descending, last) == Ordering::Less {
                return Err(Next::OutOfOrder {
                    region: self.parts[p].region.clone(),
                });
            }
        }
        self.last = Some(key);
        Ok(Some((p, page, item)))
    }

    /// The part that needs its next page, with the request and the token to ask it with.
    pub fn pending(&self) -> Option<Pending> {
        let p = self.wanting?;
        let part = self.parts.get(p)?;
        Some(Pending {
            part: p,
            region: part.region.clone(),
            request: part.request.clone(),
            token: part.next.clone()?,
            member: part
                .member
                .and_then(|m| self.members.get(m))
                .map(|m| m.name.clone()),
        })
    }

    /// Adds the page `pending` asked for.
    pub fn add(&mut self, pending: &Pending, page: Page) {
        let Some(part) = self.parts.get_mut(pending.part) else {
            return;
        };
        part.pages.push(Some(page.items));
        part.next = page.next;
        self.wanting = None;
    }
}

/// A page a scan needs: which part, and what to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub(crate) part: usize,
    /// The region.
    pub region: String,
    /// The listing's request.
    pub request: Params,
    /// The token of the page.
    pub token: String,
    /// The member whose connection lists it (its name), on a server with members.
    pub member: Option<String>,
}
