from django.db.models import F, Func, QuerySet, Subquery


def subquery_count(queryset: QuerySet) -> Subquery:
    """`(SELECT COUNT(*) ...)` of a queryset correlated with OuterRef, as an annotation."""
    return Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"))
