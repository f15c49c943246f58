// Double binary tree all-reduce, NCCL's shape (algorithm name "tree"). Sources: Sanders, Speck
// and Träff, "Two-tree algorithms for full bandwidth broadcast, reduction and scan" (Parallel
// Computing 35(12), 2009); NVIDIA's "Massively scale your deep learning training with NCCL 2.4"
// (2019); NCCL's ncclGetBtree/ncclGetDtree in src/graph/trees.cc (NVIDIA/nccl), whose facts this
// follows: an in-order binary tree whose odd positions are leaves, and a second tree that is its
// mirror (even host count) or its shift by one (odd host count).
//
// Shape. Inside each host a chain through its ranks in rank order; its first rank (the head)
// represents the host in two binary trees over the H hosts. Unlike NCCL, whose first tree has an
// extra root above the in-order tree, both trees here are the plain in-order tree on positions
// 1..H (root: the largest power of two <= H), so every host is interior in at most one tree and
// a leaf in the other, for odd H too (NCCL's shift makes rank 0 interior in both). Tree 0 carries
// the first half of the elements, tree 1 the second half.
//
// Steps, per half and per chunk (each half is cut into chunks; the executor slices further): each
// rank reduces what its children send (tree children, then its chain follower) into its recv
// buffer and sends the partial sum to its parent; the tree root finalizes (Avg divides there);
// then the result travels down again (tree, then chain). Schedule: with every message taking one
// round and chunk k leaving the deepest leaves in round k, a rank at depth d of a tree of height h
// can reduce chunk k in round k + h - d and broadcast it in round k + h + d; each rank runs its
// groups of steps in that order (reduce before broadcast, tree 0 before tree 1 within a round).
// So the reduction of later chunks overlaps the broadcast of earlier ones (2d chunks apart at
// depth d, as long as a round trip takes), both trees are in flight and neither's waits hold up
// the other's. Every receive waits for a send of an earlier round: no deadlock when slices
// complete in plan order; and each message arrives one round after it leaves, so both ends of a
// pair of ranks order their messages alike.
//
// Cost, with S the buffer size and m the ranks on the largest host: the host trees are
// floor(log2 H) deep, so height <= floor(log2 H) + m - 1, and one chunk goes up and down in
// 2 x height message rounds (~ 2 log2(H) + 2m; ring takes 2(n-1)); C chunks per half add C - 1
// rounds. Bytes sent per rank: a chain member 2S (S/2 up and S/2 down per half; the chain's tail
// S); a head alone on its host at most 2S (interior: S/2 up and 2 x S/2 down; leaf: S/2 up); a
// head with a chain below it at most 3S, of which at most 2S leave the host. Busbw uses
// nccl-tests' all-reduce factor 2(n-1)/n like every algorithm: the tree sends about what ring
// sends (2(n-1)/n x S) and reduces S/2 per child and half, in logarithmic instead of linear
// rounds. Results are bit-identical on all ranks: each element is reduced once, at its tree's
// root, and copied.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "algo/algorithm.h"
#include "algo/plan.h"

namespace tutti {

// Named "tree"; all-reduce only.
extern const AlgorithmEntry kTreeAlgorithm;

// The two binary trees over hosts 0..nhosts-1. parent[t][h] is host h's parent in tree t (-1 at
// the root), children[t][h] its children (at most two, left then right).
struct DoubleBinaryTree {
  int root[2] = {0, 0};
  std::vector<int> parent[2];
  std::vector<std::vector<int>> children[2];
};
DoubleBinaryTree doubleBinaryTree(int nhosts);

// Chunks each half is cut into by default: chunks of about kTreeChunkElements, at most
// kTreeMaxChunks, so that small calls stay a handful of messages and large ones pipeline.
constexpr size_t kTreeChunkElements = 32768;
constexpr int kTreeMaxChunks = 64;
int defaultTreeChunks(size_t count);

// Height of the trees of ranks (hosts' depth plus their chain), the larger of the two; 0 for one
// rank or a layout that does not describe nranks ranks.
int treeHeight(int nranks, const std::vector<int>& hostOfRank);

bool treeSupports(Collective collective);  // all-reduce only

// Rank `rank`'s all-reduce plan, same buffer shapes as ringPlan. hostOfRank[r] is rank r's host
// (ranks of a host need not be contiguous; host indices are compacted in increasing order).
// Each half is cut into chunksPerHalf chunks (<= 0: defaultTreeChunks(count)). nullopt for other
// collectives or a layout that does not describe nranks ranks.
std::optional<Plan> treePlan(Collective collective, int nranks, int rank, size_t count,
                             const std::vector<int>& hostOfRank, int chunksPerHalf = 0);

// Every peer a tree plan of `rank` may exchange messages with, for any count, sorted. Symmetric:
// a lists b iff b lists a.
std::vector<int> treePeers(int nranks, int rank, const std::vector<int>& hostOfRank);

}  // namespace tutti
