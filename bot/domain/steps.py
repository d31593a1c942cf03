"""The steps to administrator that bot.domain.paths follows: which actions each needs, and an
index of who may take them on what. Pure."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.evaluation import Principal
from bot.domain.policy import Statement

TAKEOVER = ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
USER_EDIT = ("iam:PutUserPolicy", "iam:AttachUserPolicy")
GROUP_EDIT = ("iam:PutGroupPolicy", "iam:AttachGroupPolicy")
ROLE_EDIT = ("iam:PutRolePolicy", "iam:AttachRolePolicy")
ASSUME, NEW_TRUST, PASS = "sts:AssumeRole", "iam:UpdateAssumeRolePolicy", "iam:PassRole"
NEW_VERSION, OLD_VERSION, JOIN = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AddUserToGroup",
)
SELF_EDIT = (*USER_EDIT, *GROUP_EDIT, *ROLE_EDIT, NEW_VERSION, OLD_VERSION, JOIN)
STEPS = (*TAKEOVER, *SELF_EDIT, ASSUME, NEW_TRUST, PASS)
# Services that run code of the caller's with a role passed to them, and what the caller needs
# besides iam:PassRole: every group, one action of each. EC2 also needs the role in an instance
# profile. The README's Risk section lists them.
CODE_RUNNERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ec2.amazonaws.com": (("ec2:RunInstances",),),
    "lambda.amazonaws.com": (
        ("lambda:CreateFunction",),
        (
            "lambda:InvokeFunction",
            "lambda:CreateEventSourceMapping",
            "lambda:CreateFunctionUrlConfig",
        ),
    ),
    "cloudformation.amazonaws.com": (("cloudformation:CreateStack",),),
    "ecs-tasks.amazonaws.com": (
        ("ecs:RegisterTaskDefinition",),
        ("ecs:RunTask", "ecs:StartTask", "ecs:CreateService"),
    ),
    "codebuild.amazonaws.com": (("codebuild:CreateProject",), ("codebuild:StartBuild",)),
    "glue.amazonaws.com": (("glue:CreateDevEndpoint",),),
    "sagemaker.amazonaws.com": (
        ("sagemaker:CreateNotebookInstance",),
        ("sagemaker:CreatePresignedNotebookInstanceUrl",),
    ),
}


def steps_of(statement: Statement) -> frozenset[str]:
    """The STEPS actions an Allow statement names (none for a Deny)."""
    if not statement.allow:
        return frozenset()
    return frozenset(action for action in STEPS if statement.covers_action(action))


IAM_PRINCIPAL = "arn:aws:iam::"


class Index:
    """Who may act on what, by the last segment of the resource patterns their Allows name
    (`user/alice` -> alice): a principal allowed only its own user is found for that user alone,
    not weighed against every administrator. Patterns with a wildcard there hold for all."""

    def __init__(self) -> None:
        self.by_name: dict[str, set[str]] = {}
        self.anywhere: set[str] = set()

    def add(
        self,
        arn: str,
        principal: Principal,
        actions: tuple[str, ...],
        steps: Callable[[Statement], frozenset[str]] = steps_of,
    ) -> None:
        """`steps`: steps_of, or a caller's memory of it (statements are shared by principals)."""
        context = principal.context()
        for statement in principal.statements:
            if steps(statement).isdisjoint(actions):
                continue
            if statement.not_resource:
                self.anywhere.add(arn)
                return
            for pattern in statement.resources:
                expanded = context.expand(pattern)
                if expanded is None:
                    continue
                name = expanded.rsplit("/", 1)[-1]
                if "/" not in expanded or "*" in name or "?" in name:
                    self.anywhere.add(arn)
                    return
                self.by_name.setdefault(name, set()).add(arn)

    def of(self, name: str) -> set[str]:
        return self.anywhere | self.by_name.get(name, set())
