//! Compact min-cost max-flow: primal-dual (Dijkstra with potentials to find the shortest
//! distances, then a Dinic blocking flow on the zero-reduced-cost subgraph). Costs must be
//! non-negative on the initial graph. Rota costs are small integers, so the number of
//! Dijkstra phases is bounded by the largest path cost.

const INF: i64 = i64::MAX / 4;

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    rev: usize,
    cap: i64,
    cost: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MinCostFlow {
    adj: Vec<Vec<Edge>>,
}

/// Handle to an edge added with [`MinCostFlow::add_edge`].
#[derive(Debug, Clone, Copy)]
pub struct EdgeRef {
    from: usize,
    idx: usize,
}

impl MinCostFlow {
    pub fn new(nodes: usize) -> Self {
        Self {
            adj: vec![Vec::new(); nodes],
        }
    }

    pub fn add_node(&mut self) -> usize {
        self.adj.push(Vec::new());
        self.adj.len() - 1
    }

    pub fn add_edge(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> EdgeRef {
        let idx = self.adj[from].len();
        let rev = self.adj[to].len() + usize::from(from == to);
        self.adj[from].push(Edge { to, rev, cap, cost });
        self.adj[to].push(Edge {
            to: from,
            rev: idx,
            cap: 0,
            cost: -cost,
        });
        EdgeRef { from, idx }
    }

    /// Flow currently on the edge (its reverse residual capacity).
    pub fn flow(&self, e: EdgeRef) -> i64 {
        let edge = &self.adj[e.from][e.idx];
        self.adj[edge.to][edge.rev].cap
    }

    /// Sends as much flow as possible from `s` to `t` at minimum cost. Returns (flow, cost).
    pub fn run(&mut self, s: usize, t: usize) -> (i64, i64) {
        let n = self.adj.len();
        let mut pot = vec![0i64; n];
        let mut dist = vec![INF; n];
        let mut level = vec![u32::MAX; n];
        let mut iter = vec![0usize; n];
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        let (mut flow, mut cost) = (0i64, 0i64);
        loop {
            // Dijkstra on reduced costs with a bucket queue (costs are small integers), stopped
            // once the sink is settled; unsettled nodes get the sink's distance, which keeps
            // every reduced cost non-negative.
            dist.fill(INF);
            dist[s] = 0;
            for bucket in &mut buckets {
                bucket.clear();
            }
            if buckets.is_empty() {
                buckets.push(Vec::new());
            }
            buckets[0].push(s);
            let mut d = 0usize;
            let mut reached = false;
            'dijkstra: while d < buckets.len() {
                while let Some(u) = buckets[d].pop() {
                    if dist[u] != d as i64 {
                        continue;
                    }
                    if u == t {
                        reached = true;
                        break 'dijkstra;
                    }
                    for e in &self.adj[u] {
                        if e.cap > 0 {
                            let nd = dist[u] + e.cost + pot[u] - pot[e.to];
                            if nd < dist[e.to] {
                                dist[e.to] = nd;
                                let i = nd as usize;
                                if i >= buckets.len() {
                                    buckets.resize_with(i + 1, Vec::new);
                                }
                                buckets[i].push(e.to);
                            }
                        }
                    }
                }
                d += 1;
            }
            if !reached {
                break;
            }
            let dt = dist[t];
            for v in 0..n {
                pot[v] += dist[v].min(dt);
            }
            // Blocking flows on the admissible subgraph (reduced cost 0).
            loop {
                level.fill(u32::MAX);
                level[s] = 0;
                let mut queue = std::collections::VecDeque::from([s]);
                while let Some(u) = queue.pop_front() {
                    if level[t] != u32::MAX && level[u] >= level[t] {
                        break;
                    }
                    for e in &self.adj[u] {
                        if e.cap > 0 && level[e.to] == u32::MAX && e.cost + pot[u] - pot[e.to] == 0
                        {
                            level[e.to] = level[u] + 1;
                            queue.push_back(e.to);
                        }
                    }
                }
                if level[t] == u32::MAX {
                    break;
                }
                iter.fill(0);
                loop {
                    let pushed = self.dfs(s, t, INF, &level, &pot, &mut iter);
                    if pushed == 0 {
                        break;
                    }
                    flow += pushed;
                    cost += pushed * (pot[t] - pot[s]);
                }
            }
        }
        (flow, cost)
    }

    fn dfs(
        &mut self,
        u: usize,
        t: usize,
        limit: i64,
        level: &[u32],
        pot: &[i64],
        iter: &mut [usize],
    ) -> i64 {
        if u == t {
            return limit;
        }
        while iter[u] < self.adj[u].len() {
            let i = iter[u];
            let Edge { to, cap, cost, rev } = self.adj[u][i];
            if cap > 0 && level[to] == level[u].wrapping_add(1) && cost + pot[u] - pot[to] == 0 {
                let d = self.dfs(to, t, limit.min(cap), level, pot, iter);
                if d > 0 {
                    self.adj[u][i].cap -= d;
                    self.adj[to][rev].cap += d;
                    return d;
                }
            }
            iter[u] += 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_cheaper_paths_and_max_flow() {
        // s=0, a=1, b=2, t=3
        let mut g = MinCostFlow::new(4);
        g.add_edge(0, 1, 2, 0);
        g.add_edge(0, 2, 1, 0);
        let e13 = g.add_edge(1, 3, 1, 5);
        g.add_edge(1, 2, 1, 1);
        g.add_edge(2, 3, 2, 1);
        let (f, c) = g.run(0, 3);
        assert_eq!(f, 3);
        // paths: 0-2-3 (1), 0-1-2-3 (2), 0-1-3 (5)
        assert_eq!(c, 8);
        assert_eq!(g.flow(e13), 1);
    }

    #[test]
    fn uses_reverse_edges() {
        // Classic case where the first greedy path must be undone.
        let mut g = MinCostFlow::new(6);
        let (s, a, b, c, d, t) = (0, 1, 2, 3, 4, 5);
        g.add_edge(s, a, 1, 0);
        g.add_edge(s, b, 1, 0);
        g.add_edge(a, c, 1, 0);
        g.add_edge(a, d, 1, 0);
        g.add_edge(b, c, 1, 0);
        g.add_edge(c, t, 1, 0);
        g.add_edge(d, t, 1, 10);
        let (f, cost) = g.run(s, t);
        assert_eq!((f, cost), (2, 10));
    }
}
