"""JSON objects shaped like GitHub's, built from the description's named examples: each starts
as a full example (so every field a client may read is there), with the example's names, hosts
and numbers replaced and the sandbox's own values filled in."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from bot.sandbox import gitops
from bot.sandbox.openapi import example
from bot.sandbox.state import (
    LEGACY_PERMISSION,
    CheckRun,
    Comment,
    Issue,
    Label,
    Reaction,
    Release,
    Repo,
    State,
    Status,
    User,
    WorkflowRun,
    now_iso,
)

DOCS = "https://docs.github.com/rest"
EX_REPO = "octocat/Hello-World"


def node_id(kind: str, ident: object) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode()


class Shapes:
    def __init__(self, state: State, api_url: str, server_url: str):
        self.state = state
        self.api = api_url
        self.server = server_url

    def _hosts(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        rep = dict(extra or {})
        rep["https://api.github.com"] = self.api
        rep["https://github.com"] = self.server
        return rep

    # -- users ---------------------------------------------------------------------------
    def user(self, login: str | None) -> dict[str, Any] | None:
        if login is None:
            return None
        u = self.state.user(login)
        obj = example("simple-user", self._hosts({"octocat": login}))
        obj.update(login=login, id=u.id if u else 1, node_id=node_id("User", login),
                   type=u.type if u else "User", site_admin=False, user_view_type="public")
        obj["avatar_url"] = f"{self.server}/avatars/{login}"
        return obj

    def private_user(self, u: User) -> dict[str, Any]:
        obj = example("private-user", self._hosts({"octocat": u.login}))
        obj.update(login=u.login, id=u.id, node_id=node_id("User", u.login), type=u.type,
                   name=u.login, email=u.email or None, site_admin=False,
                   user_view_type="private", notification_email=u.email or None)
        return obj

    # -- repositories ----------------------------------------------------------------------
    def _repo_rep(self, repo: Repo) -> dict[str, str]:
        return self._hosts({EX_REPO: repo.full_name})

    def repo(self, repo: Repo, viewer: str | None = None) -> dict[str, Any]:
        obj = example("full-repository", self._repo_rep(repo))
        # nested repositories of the example (fork source/parent, template) fail the
        # description's own schema and describe nothing the sandbox has
        for k in ("source", "parent", "template_repository", "organization",
                  "security_and_analysis", "code_of_conduct", "temp_clone_token"):
            obj.pop(k, None)
        owner = self.user(repo.owner)
        role = self._role(repo, viewer)
        obj.update(
            id=repo.id, node_id=node_id("Repository", repo.id), name=repo.name,
            full_name=repo.full_name, owner=owner, private=repo.private,
            visibility="private" if repo.private else "public", default_branch=repo.default_branch,
            master_branch=repo.default_branch, fork=False, created_at=repo.created_at,
            updated_at=repo.pushed_at, pushed_at=repo.pushed_at, description=None,
            homepage=None, language=None, topics=[], archived=False, disabled=False,
            open_issues_count=sum(1 for i in repo.issues.values() if i.state == "open"),
            clone_url=f"{self.server}/{repo.full_name}.git", mirror_url=None,
            git_url=f"{self.server}/{repo.full_name}.git".replace("http", "git", 1),
            ssh_url=f"git@127.0.0.1:{repo.full_name}.git",
            svn_url=f"{self.server}/{repo.full_name}",
            html_url=f"{self.server}/{repo.full_name}",
            has_discussions=False, license=None,
        )
        obj["open_issues"] = obj["open_issues_count"]
        obj["custom_properties"] = {}
        if owner is not None and owner["type"] == "Organization":
            # GitHub names the organization of an organization's repository
            obj["organization"] = owner
        if role is not None:
            obj["permissions"] = self._permissions(role)
        else:
            obj.pop("permissions", None)
        return obj

    @staticmethod
    def _permissions(role: str) -> dict[str, bool]:
        rank = ("read", "triage", "write", "maintain", "admin").index(role)
        return {"pull": True, "triage": rank >= 1, "push": rank >= 2, "maintain": rank >= 3,
                "admin": rank >= 4}

    def _role(self, repo: Repo, login: str | None) -> str | None:
        if login is None:
            return None
        u = self.state.user(login)
        return u.role_on(repo.full_name) if u else None

    def _pr_repo(self, repo: Repo, template: dict[str, Any]) -> dict[str, Any]:
        template.update(
            id=repo.id, node_id=node_id("Repository", repo.id), name=repo.name,
            full_name=repo.full_name, owner=self.user(repo.owner), private=repo.private,
            default_branch=repo.default_branch, created_at=repo.created_at,
            updated_at=repo.pushed_at, pushed_at=repo.pushed_at, fork=False, topics=[],
            clone_url=f"{self.server}/{repo.full_name}.git", mirror_url=None,
            html_url=f"{self.server}/{repo.full_name}",
            visibility="private" if repo.private else "public", allow_forking=True,
            is_template=False, web_commit_signoff_required=False,
        )
        template.pop("temp_clone_token", None)
        template["license"] = None
        return template

    # -- labels, issues, pulls ---------------------------------------------------------------
    def label(self, repo: Repo, lbl: Label) -> dict[str, Any]:
        obj = example("label", self._repo_rep(repo))
        obj.update(id=lbl.id, node_id=node_id("Label", lbl.id), name=lbl.name, color=lbl.color,
                   description=lbl.description, default=False,
                   url=f"{self.api}/repos/{repo.full_name}/labels/{lbl.name}")
        return obj

    def _labels(self, repo: Repo, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            lbl = repo.label(name)
            if lbl is not None:
                out.append(self.label(repo, lbl))
        return out

    def _assoc(self, repo: Repo, login: str) -> str:
        if login == repo.owner:
            return "OWNER"
        role = self._role(repo, login)
        return "COLLABORATOR" if role in ("write", "maintain", "admin") else "NONE"

    def issue(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        rep = self._repo_rep(repo)
        rep["/1347"] = f"/{issue.number}"
        obj = example("issue", rep)
        base = f"{self.api}/repos/{repo.full_name}"
        kind = "pull" if issue.is_pull else "issues"
        obj.update(
            id=issue.id, node_id=node_id("Issue", issue.id), number=issue.number,
            title=issue.title, body=issue.body, user=self.user(issue.user),
            labels=self._labels(repo, issue.labels), state=issue.state,
            state_reason=issue.state_reason, locked=False, active_lock_reason=None,
            assignee=None, assignees=[], milestone=None,
            comments=sum(1 for c in repo.comments.values() if c.issue_number == issue.number),
            created_at=issue.created_at, updated_at=issue.updated_at, closed_at=issue.closed_at,
            closed_by=self.user(issue.closed_by), author_association=self._assoc(repo, issue.user),
            html_url=f"{self.server}/{repo.full_name}/{kind}/{issue.number}",
            url=f"{base}/issues/{issue.number}", draft=issue.draft if issue.is_pull else False,
            pinned_comment=None,
        )
        obj["repository_url"] = base
        for k in ("type", "issue_field_values", "parent_issue_url"):
            obj.pop(k, None)
        # what GitHub sends beside: no app acted, no reactions, no sub-issues, no dependencies
        obj.update(
            performed_via_github_app=None, timeline_url=f"{base}/issues/{issue.number}/timeline",
            reactions=self._reactions(f"{base}/issues/{issue.number}/reactions", []),
            sub_issues_summary={"total": 0, "completed": 0, "percent_completed": 0},
            issue_dependencies_summary={"blocked_by": 0, "blocking": 0, "total_blocked_by": 0,
                                        "total_blocking": 0},
        )
        if issue.is_pull:
            html = f"{self.server}/{repo.full_name}/pull/{issue.number}"
            obj["pull_request"] = {
                "url": f"{base}/pulls/{issue.number}", "html_url": html,
                "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
                "merged_at": issue.merged_at,
            }
        else:
            obj.pop("pull_request", None)
        return obj

    def pull(self, repo: Repo, pr: Issue, mergeable: bool | None) -> dict[str, Any]:
        rep = self._repo_rep(repo)
        rep["/1347"] = f"/{pr.number}"
        obj = example("pull-request", rep)
        base_sha = gitops.resolve(repo.path, f"refs/heads/{pr.base_ref}") or ""
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.server}/{repo.full_name}/pull/{pr.number}"
        for side, ref, sha in (("head", pr.head_ref, pr.head_sha), ("base", pr.base_ref,
                                                                    base_sha)):
            part = obj[side]
            part.update(label=f"{repo.owner}:{ref}", ref=ref, sha=sha,
                        user=self.user(repo.owner))
            part["repo"] = self._pr_repo(repo, part["repo"])
        state_mergeable: str
        if pr.merged or mergeable is None:
            state_mergeable = "unknown"
        else:
            state_mergeable = "clean" if mergeable else "dirty"
        obj.update(
            id=pr.pull_id, node_id=node_id("PullRequest", pr.pull_id), number=pr.number,
            state=pr.state, title=pr.title, body=pr.body, user=self.user(pr.user),
            labels=self._labels(repo, pr.labels), locked=False, active_lock_reason=None,
            assignee=None, assignees=[], milestone=None,
            requested_reviewers=[self.user(login) for login in pr.requested_reviewers],
            requested_teams=[], auto_merge=None, draft=pr.draft,
            created_at=pr.created_at, updated_at=pr.updated_at, closed_at=pr.closed_at,
            merged=pr.merged, merged_at=pr.merged_at, merged_by=self.user(pr.merged_by),
            merge_commit_sha=pr.merge_commit_sha, mergeable=None if pr.merged else mergeable,
            rebaseable=None if pr.merged else mergeable, mergeable_state=state_mergeable,
            maintainer_can_modify=pr.maintainer_can_modify,
            author_association=self._assoc(repo, pr.user),
            comments=sum(1 for c in repo.comments.values() if c.issue_number == pr.number),
            review_comments=0, html_url=html, diff_url=f"{html}.diff",
            patch_url=f"{html}.patch", url=f"{api}/pulls/{pr.number}",
            statuses_url=f"{api}/statuses/{pr.head_sha}",
        )
        obj["_links"]["statuses"]["href"] = f"{api}/statuses/{pr.head_sha}"
        if base_sha and pr.head_sha:
            mb = gitops.merge_base(repo.path, base_sha, pr.head_sha) or base_sha
            files = gitops.diff_files(repo.path, mb, pr.head_sha)
            obj.update(
                commits=len(gitops.commits_between(repo.path, mb, pr.head_sha)),
                additions=sum(f.additions for f in files),
                deletions=sum(f.deletions for f in files), changed_files=len(files),
            )
        return obj

    def pull_simple(self, repo: Repo, pr: Issue) -> dict[str, Any]:
        """The short form of a pull request ("pull-request-simple"), as "Request reviewers"
        answers: the full form's fields that the short form has."""
        full = self.pull(repo, pr, None)
        keys = example("pull-request-review-request").keys()
        return {k: full[k] for k in keys if k in full}

    def review_requests(self, pr: Issue) -> dict[str, Any]:
        return {"users": [self.user(login) for login in pr.requested_reviewers], "teams": []}

    def release(self, repo: Repo, rel: Release) -> dict[str, Any]:
        obj = example("release", self._repo_rep(repo))
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.server}/{repo.full_name}"
        # a release's page is named by its tag; a draft's by its id, as GitHub names them
        page = f"untagged-{rel.id}" if rel.draft else rel.tag_name
        obj.update(
            id=rel.id, node_id=node_id("Release", rel.id), tag_name=rel.tag_name,
            target_commitish=rel.target_commitish, name=rel.name, body=rel.body,
            draft=rel.draft, prerelease=rel.prerelease, immutable=False,
            created_at=rel.created_at, published_at=rel.published_at,
            author=self.user(rel.author), assets=[],
            url=f"{api}/releases/{rel.id}", html_url=f"{html}/releases/tag/{page}",
            assets_url=f"{api}/releases/{rel.id}/assets",
            upload_url=f"{self.api.replace('://api.', '://uploads.')}/repos/"
                       f"{repo.full_name}/releases/{rel.id}/assets{{?name,label}}",
            tarball_url=f"{api}/tarball/{rel.tag_name}",
            zipball_url=f"{api}/zipball/{rel.tag_name}",
        )
        # sent only when the release started a discussion; the sandbox has no discussions
        obj.pop("discussion_url", None)
        return obj

    def comment(self, repo: Repo, c: Comment) -> dict[str, Any]:
        rep = self._repo_rep(repo)
        rep["/1347"] = f"/{c.issue_number}"
        obj = example("issue-comment", rep)
        api = f"{self.api}/repos/{repo.full_name}"
        issue = repo.issues.get(c.issue_number)
        kind = "pull" if issue and issue.is_pull else "issues"
        obj.update(
            id=c.id, node_id=node_id("IssueComment", c.id), body=c.body, user=self.user(c.user),
            created_at=c.created_at, updated_at=c.updated_at,
            author_association=self._assoc(repo, c.user),
            url=f"{api}/issues/comments/{c.id}", issue_url=f"{api}/issues/{c.issue_number}",
            html_url=f"{self.server}/{repo.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}",
        )
        obj["reactions"] = self._reactions(f"{api}/issues/comments/{c.id}/reactions",
                                           c.reactions)
        obj["performed_via_github_app"] = None
        return obj

    @staticmethod
    def _reactions(url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in reactions:
            counts[r.content] = counts.get(r.content, 0) + 1
        return {
            "url": url, "total_count": len(reactions),
            "+1": counts.get("+1", 0), "-1": counts.get("-1", 0),
            **{k: counts.get(k, 0) for k in ("laugh", "confused", "heart", "hooray", "eyes",
                                             "rocket")},
        }

    def reaction(self, r: Reaction) -> dict[str, Any]:
        obj = example("reaction", self._hosts())
        obj.update(id=r.id, node_id=node_id("Reaction", r.id), content=r.content,
                   user=self.user(r.user), created_at=r.created_at)
        return obj

    # -- statuses and checks -------------------------------------------------------------------
    def status(self, repo: Repo, s: Status) -> dict[str, Any]:
        obj = example("status", self._repo_rep(repo))
        obj.update(id=s.id, node_id=node_id("StatusContext", s.id), state=s.state,
                   context=s.context, description=s.description, target_url=s.target_url,
                   creator=self.user(s.creator), created_at=s.created_at,
                   updated_at=s.updated_at, avatar_url=f"{self.server}/avatars/{s.creator}",
                   url=f"{self.api}/repos/{repo.full_name}/statuses/{s.sha}")
        return obj

    def combined_status(self, repo: Repo, sha: str, latest: list[Status]) -> dict[str, Any]:
        obj = example("combined-commit-status", self._repo_rep(repo))
        states = {s.state for s in latest}
        if not latest:
            state = "pending"
        elif states & {"failure", "error"}:
            state = "failure"
        elif "pending" in states:
            state = "pending"
        else:
            state = "success"
        statuses = []
        for s in latest:
            item = self.status(repo, s)
            item.pop("creator", None)
            statuses.append(item)
        api = f"{self.api}/repos/{repo.full_name}"
        obj.update(state=state, sha=sha, total_count=len(latest), statuses=statuses,
                   commit_url=f"{api}/commits/{sha}", url=f"{api}/commits/{sha}/status")
        obj["repository"].update(id=repo.id, node_id=node_id("Repository", repo.id),
                                 name=repo.name, full_name=repo.full_name,
                                 owner=self.user(repo.owner), private=repo.private)
        return obj

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        obj = example("check-run", self._hosts({"github/hello-world": repo.full_name}))
        api = f"{self.api}/repos/{repo.full_name}"
        obj.update(
            id=run.id, node_id=node_id("CheckRun", run.id), head_sha=run.head_sha,
            name=run.name, status=run.status, conclusion=run.conclusion,
            started_at=run.started_at, completed_at=run.completed_at,
            details_url=run.details_url, external_id=run.external_id or "",
            url=f"{api}/check-runs/{run.id}",
            html_url=f"{self.server}/{repo.full_name}/runs/{run.id}", pull_requests=[],
        )
        out = {"title": None, "summary": None, "text": None, "annotations_count": 0,
               "annotations_url": f"{api}/check-runs/{run.id}/annotations"}
        out.update({k: v for k, v in run.output.items() if k in ("title", "summary", "text")})
        obj["output"] = out
        obj["app"]["slug"] = "github-actions"
        obj["app"]["name"] = "GitHub Actions"
        obj["app"]["owner"] = self.user(run.app_owner)
        # the permissions GitHub Actions' own App holds, as GitHub reports them
        obj["app"]["client_id"] = "Iv1.05c79e9ad1f6bdfa"
        obj["app"]["permissions"] = {k: "write" for k in (
            "actions", "checks", "contents", "deployments", "discussions", "issues", "packages",
            "pages", "pull_requests", "repository_projects", "security_events", "statuses")}
        obj["app"]["permissions"]["metadata"] = "read"
        return obj

    def workflow_run(self, repo: Repo, run: WorkflowRun) -> dict[str, Any]:
        obj = example("workflow-run", self._hosts({"octo-org/octo-repo": repo.full_name,
                                                   "octocat/Hello-World": repo.full_name}))
        api = f"{self.api}/repos/{repo.full_name}"
        run_url = f"{api}/actions/runs/{run.id}"
        base = gitops.resolve(repo.path, f"refs/heads/{repo.default_branch}") or run.head_sha
        mini = {"id": repo.id, "url": api, "name": repo.name}
        pulls = []
        for number in run.pull_requests:
            pr = repo.issues.get(number)
            if pr is None or not pr.is_pull:
                continue
            pulls.append({"id": pr.pull_id, "number": pr.number, "url": f"{api}/pulls/{number}",
                          "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": mini},
                          "base": {"ref": pr.base_ref, "sha": base, "repo": mini}})
        obj.update(
            id=run.id, node_id=node_id("WorkflowRun", run.id), name=run.name,
            path=run.path, display_title=run.name, event=run.event, status=run.status,
            conclusion=run.conclusion, head_sha=run.head_sha, head_branch=run.head_branch,
            run_number=run.run_number, run_attempt=run.run_attempt,
            created_at=run.created_at, updated_at=run.updated_at,
            run_started_at=run.created_at, url=run_url,
            html_url=f"{self.server}/{repo.full_name}/actions/runs/{run.id}",
            jobs_url=f"{run_url}/jobs", logs_url=f"{run_url}/logs",
            cancel_url=f"{run_url}/cancel", rerun_url=f"{run_url}/rerun",
            artifacts_url=f"{run_url}/artifacts", pull_requests=pulls,
            actor=self.user(repo.owner), triggering_actor=self.user(repo.owner),
            referenced_workflows=[],
        )
        obj["previous_attempt_url"] = f"{run_url}/attempts/{run.run_attempt - 1}" \
            if run.run_attempt > 1 else None
        obj["head_commit"]["id"] = run.head_sha
        for key in ("repository", "head_repository"):
            obj[key].update(id=repo.id, node_id=node_id("Repository", repo.id),
                            name=repo.name, full_name=repo.full_name,
                            owner=self.user(repo.owner), private=repo.private)
        return obj

    # -- git objects ------------------------------------------------------------------------
    def git_ref(self, repo: Repo, ref: str, sha: str, kind: str = "commit") -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        plural = {"commit": "commits", "tag": "tags"}.get(kind, kind + "s")
        return {"ref": ref, "node_id": node_id("Ref", ref), "url": f"{api}/git/{ref}",
                "object": {"sha": sha, "type": kind, "url": f"{api}/git/{plural}/{sha}"}}

    def commit(self, repo: Repo, info: gitops.CommitInfo, files: list[gitops.FileChange] |
               None = None) -> dict[str, Any]:
        obj = example("commit", self._repo_rep(repo))
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.server}/{repo.full_name}"
        obj.update(
            sha=info.sha, node_id=node_id("Commit", info.sha), url=f"{api}/commits/{info.sha}",
            html_url=f"{html}/commit/{info.sha}", comments_url=f"{api}/commits/{info.sha}/comments",
            author=self._git_user(info.author_email),
            committer=self._git_user(info.committer_email),
            parents=[{"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
                     for p in info.parents],
        )
        obj["commit"].update(
            author={"name": info.author_name, "email": info.author_email,
                    "date": info.author_date},
            committer={"name": info.committer_name, "email": info.committer_email,
                       "date": info.committer_date},
            message=info.message, comment_count=0, url=f"{api}/git/commits/{info.sha}",
            tree={"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            verification={"verified": False, "reason": "unsigned", "signature": None,
                          "payload": None, "verified_at": None},
        )
        if files is None:
            for k in ("files", "stats"):
                obj.pop(k, None)
        else:
            obj["files"] = [self.diff_entry(repo, f, info.sha) for f in files]
            add = sum(f.additions for f in files)
            dele = sum(f.deletions for f in files)
            obj["stats"] = {"additions": add, "deletions": dele, "total": add + dele}
        return obj

    def _git_user(self, email: str) -> dict[str, Any] | None:
        for u in self.state.users.values():
            if u.email and u.email == email:
                return self.user(u.login)
        return None

    def diff_entry(self, repo: Repo, f: gitops.FileChange, ref: str) -> dict[str, Any]:
        html = f"{self.server}/{repo.full_name}"
        entry: dict[str, Any] = {
            "sha": f.sha, "filename": f.filename, "status": f.status, "additions": f.additions,
            "deletions": f.deletions, "changes": f.additions + f.deletions,
            "blob_url": f"{html}/blob/{ref}/{f.filename}",
            "raw_url": f"{html}/raw/{ref}/{f.filename}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{f.filename}?ref={ref}",
        }
        if f.patch:
            entry["patch"] = f.patch
        if f.previous_filename:
            entry["previous_filename"] = f.previous_filename
        return entry

    def branch(self, repo: Repo, name: str, info: gitops.CommitInfo) -> dict[str, Any]:
        obj = example("branch-get", self._repo_rep(repo))
        obj.update(name=name, protected=False, commit=self.commit(repo, info))
        obj["_links"] = {"html": f"{self.server}/{repo.full_name}/tree/{name}",
                         "self": f"{self.api}/repos/{repo.full_name}/branches/{name}"}
        obj["protection"] = {"enabled": False, "required_status_checks": {
            "enforcement_level": "off", "contexts": [], "checks": []}}
        obj["protection_url"] = f"{self.api}/repos/{repo.full_name}/branches/{name}/protection"
        return obj

    def short_branch(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        return {"name": name, "protected": False,
                "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"}}

    def tag(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        html = f"{self.server}/{repo.full_name}"
        return {"name": name, "node_id": node_id("Tag", name),
                "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
                "zipball_url": f"{html}/zipball/{name}", "tarball_url": f"{html}/tarball/{name}"}

    def content_file(self, repo: Repo, path: str, sha: str, data: bytes,
                     ref: str) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.server}/{repo.full_name}"
        encoded = base64.encodebytes(data).decode()
        return {
            "type": "file", "encoding": "base64", "size": len(data),
            "name": path.rsplit("/", 1)[-1], "path": path, "content": encoded, "sha": sha,
            "url": f"{api}/contents/{path}?ref={ref}", "git_url": f"{api}/git/blobs/{sha}",
            "html_url": f"{html}/blob/{ref}/{path}",
            "download_url": f"{html}/raw/{ref}/{path}",
            "_links": {"self": f"{api}/contents/{path}?ref={ref}",
                       "git": f"{api}/git/blobs/{sha}", "html": f"{html}/blob/{ref}/{path}"},
        }

    def content_entry(self, repo: Repo, path: str, kind: str, sha: str,
                      ref: str) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.server}/{repo.full_name}"
        t = {"blob": "file", "tree": "dir", "commit": "submodule"}.get(kind, "file")
        return {
            "type": t, "size": 0, "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
            "url": f"{api}/contents/{path}?ref={ref}", "git_url": f"{api}/git/blobs/{sha}",
            "html_url": f"{html}/blob/{ref}/{path}",
            "download_url": f"{html}/raw/{ref}/{path}" if t == "file" else None,
            "_links": {"self": f"{api}/contents/{path}?ref={ref}",
                       "git": f"{api}/git/blobs/{sha}", "html": f"{html}/blob/{ref}/{path}"},
        }

    def permission(self, login: str, role: str | None) -> dict[str, Any]:
        obj = example(
            "repository-collaborator-permission-response-if-user-has-admin-permissions",
            self._hosts({"octocat": login}),
        )
        legacy = LEGACY_PERMISSION.get(role, "none") if role else "none"
        obj.update(permission=legacy, role_name=role or "none")
        user = self.user(login) or {}
        user["permissions"] = self._permissions(role) if role else {
            "pull": False, "triage": False, "push": False, "maintain": False, "admin": False}
        user["role_name"] = role or "none"
        obj["user"] = user
        return obj

    def rate_limit(self, remaining: int, reset: int) -> dict[str, Any]:
        obj = example("rate-limit-overview")
        core = {"limit": 5000, "remaining": remaining, "reset": reset, "used": 5000 - remaining}
        obj["rate"] = dict(core)
        obj["resources"]["core"] = dict(core)
        return obj


def error_body(status: int, message: str, doc: str = DOCS,
               errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": doc, "status": str(status)}
    if errors:
        body["errors"] = errors
    return body


def etag(data: bytes) -> str:
    return '"' + hashlib.sha1(data).hexdigest() + '"'


__all__ = ["Shapes", "error_body", "etag", "now_iso"]
